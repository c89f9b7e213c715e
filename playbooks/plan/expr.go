package plan

// Expression operators. An Expr is the run-time form of a playbook expression
// whose value depends on something only known while the incident runs
// (input.*, step outputs, answers, each.*). Parts that were known at compile
// time are already folded into OpLiteral nodes.
const (
	// OpLiteral is a constant: Value.
	OpLiteral = "lit"
	// OpRef reads a value by its path from the scope, e.g. ["decision", "reconnect", "choice"].
	OpRef = "ref"
	// OpTemplate converts each of Args to a string and joins them.
	OpTemplate = "template"
	// OpBinary applies Operator to Args[0] and Args[1].
	OpBinary = "binary"
	// OpNot is logical negation of Args[0].
	OpNot = "not"
	// OpNegate is arithmetic negation of Args[0].
	OpNegate = "neg"
	// OpConditional is Args[0] ? Args[1] : Args[2].
	OpConditional = "cond"
	// OpCall calls the function Func with Args.
	OpCall = "call"
	// OpIndex is Args[0][Args[1]].
	OpIndex = "index"
	// OpAttr is Args[0].Name.
	OpAttr = "attr"
	// OpList builds a list from Args.
	OpList = "list"
	// OpObject builds an object with Keys[i] = Args[i].
	OpObject = "object"
)

// Expr is a node of a run-time expression tree.
//
// Values flowing through expressions are the JSON-natural Go types: string,
// float64, bool, []any, map[string]any and nil.
type Expr struct {
	Op string `json:"op"`
	// Value is the constant of an OpLiteral.
	Value *Literal `json:"value,omitempty"`
	// Path is the reference path of an OpRef.
	Path []string `json:"path,omitempty"`
	// Operator is the operator of an OpBinary: == != < > <= >= && || + - * / %.
	Operator string `json:"operator,omitempty"`
	// Func is the function name of an OpCall.
	Func string `json:"func,omitempty"`
	// Name is the attribute name of an OpAttr.
	Name string `json:"name,omitempty"`
	// Keys are the object keys of an OpObject, parallel to Args.
	Keys []string `json:"keys,omitempty"`
	Args []*Expr  `json:"args,omitempty"`

	// Source is the expression as written (white space folded), set on the
	// root node only, for messages and the timeline. Conditions are compared
	// by their tree, not by Source.
	Source string `json:"source,omitempty"`
	// Range is where the expression was written, set on the root node only.
	Range *Range `json:"range,omitempty"`
}

// Literal wraps a constant so that false, 0 and "" survive JSON round trips.
type Literal struct {
	V any `json:"v"`
}

// Lit returns a literal expression.
func Lit(v any) *Expr { return &Expr{Op: OpLiteral, Value: &Literal{V: v}} }

// IsLiteral reports whether the expression is a constant, and returns it.
func (e *Expr) IsLiteral() (any, bool) {
	if e == nil || e.Op != OpLiteral || e.Value == nil {
		return nil, false
	}
	return e.Value.V, true
}
