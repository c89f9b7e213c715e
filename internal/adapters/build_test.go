package adapters

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// actuatorDouble stands for a real actuator adapter (nftables, a vendor
// firewall, an EDR): it implements every actuator interface and records
// every request that reaches it.
type actuatorDouble struct{ reached []string }

func (d *actuatorDouble) Cut(context.Context, activities.ConduitRequest) (activities.ConduitResponse, error) {
	d.reached = append(d.reached, "Cut")
	return activities.ConduitResponse{}, nil
}

func (d *actuatorDouble) Restore(context.Context, activities.ConduitRequest) (activities.ConduitResponse, error) {
	d.reached = append(d.reached, "Restore")
	return activities.ConduitResponse{}, nil
}

func (d *actuatorDouble) Send(context.Context, activities.WebhookRequest) (activities.WebhookResponse, error) {
	d.reached = append(d.reached, "Send")
	return activities.WebhookResponse{Status: 200}, nil
}

func (d *actuatorDouble) Contain(context.Context, activities.ContainRequest) (activities.ContainResponse, error) {
	d.reached = append(d.reached, "Contain")
	return activities.ContainResponse{Contained: true}, nil
}

// notActuators are Backing's fields that are not actuators.
var notActuators = map[string]bool{"Chat": true, "Pager": true, "PlantState": true}

// TestBuildGuardsEveryActuator: a kind whose adapter is a real actuator,
// built through Build, refuses every request marked as an exercise in
// every actuator method of the Backing (called generically, so a new
// actuator field is covered as soon as it exists), and the adapter is
// never reached; live requests reach it.
func TestBuildGuardsEveryActuator(t *testing.T) {
	d := &actuatorDouble{}
	Kinds["test_actuator"] = Kind{Name: "test_actuator", New: func(*org.Instance) (any, error) { return d, nil }}
	defer delete(Kinds, "test_actuator")
	b, err := Build(&org.Instance{ID: "test_actuator.gw", Kind: "test_actuator", Name: "gw"})
	if err != nil {
		t.Fatal(err)
	}
	bv := reflect.ValueOf(b)
	methods := 0
	for i := range bv.NumField() {
		name := bv.Type().Field(i).Name
		if notActuators[name] {
			continue
		}
		f := bv.Field(i)
		if f.IsNil() {
			t.Errorf("Backing.%s is nil: the double does not implement it (add it) or Build does not fill it", name)
			continue
		}
		for m := range f.NumMethod() {
			meth := f.Type().Method(m)
			methods++
			for _, exercise := range []bool{true, false} {
				req := reflect.New(f.Method(m).Type().In(1)).Elem()
				req.FieldByName("Exercise").SetBool(exercise)
				before := len(d.reached)
				out := f.Method(m).Call([]reflect.Value{reflect.ValueOf(context.Background()), req})
				err, _ := out[1].Interface().(error)
				if exercise {
					var ae *temporal.ApplicationError
					if !errors.As(err, &ae) || ae.Type() != activities.ErrExerciseReachedReal || !ae.NonRetryable() {
						t.Errorf("%s.%s with Exercise set: %v, want a non-retryable %s", name, meth.Name, err, activities.ErrExerciseReachedReal)
					}
					if len(d.reached) != before {
						t.Errorf("%s.%s with Exercise set reached the adapter: %v", name, meth.Name, d.reached)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s.%s live: %v", name, meth.Name, err)
				}
			}
		}
	}
	if methods == 0 || len(d.reached) != methods {
		t.Errorf("live requests reached the adapter %d times over %d methods: %v", len(d.reached), methods, d.reached)
	}
	// A simulated instance is never built.
	if _, err := Build(&org.Instance{ID: "test_actuator.gw", Kind: "test_actuator", Simulate: true}); err == nil {
		t.Error("Build built a simulated instance")
	}
}

// TestBackingMirrorsActivities: Backing has a field for every integration
// interface of activities.Activities, of the same type, so an adapter
// implementing a new interface cannot be wired in beside Build.
func TestBackingMirrorsActivities(t *testing.T) {
	bt := reflect.TypeOf(Backing{})
	at := reflect.TypeOf(activities.Activities{})
	authority := reflect.TypeOf((*activities.Authority)(nil)).Elem()
	n := 0
	for i := range at.NumField() {
		f := at.Field(i)
		if f.Type.Kind() != reflect.Interface || f.Type == authority {
			continue
		}
		n++
		if bf, ok := bt.FieldByName(f.Name); !ok || bf.Type != f.Type {
			t.Errorf("Backing has no field %s %s", f.Name, f.Type)
		}
	}
	if bt.NumField() != n {
		t.Errorf("Backing has %d fields, Activities %d integration interfaces", bt.NumField(), n)
	}
}

// TestOnlyBuildCallsNew: a Kind's New is called in Build and nowhere else
// in this package, and no code outside this package reads Kinds, so a real
// adapter reaches a worker only through Build and its exercise guard. A
// kind with an actuator adapter wired in any other way fails here.
func TestOnlyBuildCallsNew(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	here, _ := filepath.Abs(".")
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if n := e.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		if filepath.Dir(path) == here {
			imports := map[string]bool{}
			for _, im := range f.Imports {
				p := strings.Trim(im.Path.Value, `"`)
				name := p[strings.LastIndex(p, "/")+1:]
				if im.Name != nil {
					name = im.Name.Name
				}
				imports[name] = true
			}
			for _, d := range f.Decls {
				fn, _ := d.(*ast.FuncDecl)
				ast.Inspect(d, func(n ast.Node) bool {
					c, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := c.Fun.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "New" {
						return true
					}
					if id, ok := sel.X.(*ast.Ident); ok && imports[id.Name] {
						return true // a package's New, not a Kind's
					}
					if fn == nil || fn.Recv != nil || fn.Name.Name != "Build" {
						t.Errorf("%s: a Kind's New is called outside Build; build real adapters through Build, which puts actuators behind activities.RealOnly", fset.Position(c.Pos()))
					}
					return true
				})
			}
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Kinds" {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "adapters" {
				t.Errorf("%s (%s): adapters.Kinds is read outside package adapters; real adapters come only from adapters.Build", rel, fset.Position(sel.Pos()))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d Go files found under %s", files, root)
	}
}

// TestBuildRealKinds: a real webhook block builds the signed webhook
// client (serving webhook.post and edr.contain_host, both behind the
// exercise guard), a real modbus block the Modbus client and a real
// nftables block the enforcement point (behind the guard too); a setting
// the adapter refuses stops the build with the block's place and
// without the secret's value.
func TestBuildRealKinds(t *testing.T) {
	const secret = "0123456789abcdef-hmac-secret"
	o := load(t, `
integration "webhook" "edr" {
  url     = "https://edr.example/api/contain"
  secret  = env("EDR_HMAC")
  timeout = "5s"
}
integration "webhook" "short" {
  url    = "https://edr.example/api/contain"
  secret = env("SHORT")
}
integration "webhook" "badtimeout" {
  url     = "https://edr.example/api/contain"
  secret  = env("EDR_HMAC")
  timeout = 5
}
integration "modbus" "plc" {
  address = "127.0.0.1:5020"
  unit_id = 3
}
integration "nftables" "gw" { netns = "plant3-gw" }
integration "nftables" "badtable" { table = "no spaces allowed" }
`, map[string]string{"EDR_HMAC": secret, "SHORT": "tiny"})
	byID := map[string]*org.Instance{}
	for _, in := range o.Instances {
		byID[in.ID] = in
	}
	b, err := Build(byID["webhook.edr"])
	if err != nil {
		t.Fatal(err)
	}
	if b.Webhook == nil || b.EDR == nil || b.Isolator != nil || b.PlantState != nil {
		t.Errorf("webhook.edr backs %+v; want Webhook and EDR only", b)
	}
	var ae *temporal.ApplicationError
	if _, err := b.EDR.Contain(context.Background(), activities.ContainRequest{Key: "k", Exercise: true, Integration: "webhook.edr", Host: "h"}); !errors.As(err, &ae) || ae.Type() != activities.ErrExerciseReachedReal {
		t.Errorf("an exercise containment through a built webhook: %v; want the exercise guard's refusal", err)
	}
	if b, err := Build(byID["modbus.plc"]); err != nil || b.PlantState == nil {
		t.Errorf("modbus.plc: %+v, %v; want a plant-state reader", b, err)
	}
	if b, err := Build(byID["nftables.gw"]); err != nil || b.Isolator == nil {
		t.Errorf("nftables.gw: %+v, %v; want an isolator", b, err)
	} else if _, err := b.Isolator.Cut(context.Background(), activities.ConduitRequest{Key: "k", Exercise: true, Enforcement: "nftables.gw"}); !errors.As(err, &ae) || ae.Type() != activities.ErrExerciseReachedReal {
		t.Errorf("an exercise cut through a built nftables block: %v; want the exercise guard's refusal", err)
	}
	for _, id := range []string{"webhook.short", "webhook.badtimeout", "nftables.badtable"} {
		_, err := Build(byID[id])
		if err == nil || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "org.hcl") {
			t.Errorf("%s: %v; want a refusal naming the block and its file", id, err)
		}
		if err != nil && strings.Contains(err.Error(), "tiny") {
			t.Errorf("%s: the refusal shows the secret: %v", id, err)
		}
	}
}
