// Package activities carries out plan steps. One Activities struct holds
// small interfaces defined here (Chat, Pager, Isolator, Webhook, PlantState,
// EDR), each implemented by an integration package and by a simulated twin
// (integrations/sim); its exported methods are the activities, one per
// registry action plus Notify, Page and Prompt.
//
// The package is also guard three of the safety interlock: every
// safety-critical activity (IsolateZone, BlockConduit, RestoreZone,
// RestoreConduit) first checks the call against the worker's own
// configuration (Authority), never the plan's claims: the plant model it
// touches must be the worker's
// (ErrPlantMismatch otherwise), and the sign-off must hold by the worker's
// safety policy, current rosters and keys (CheckSignoff; ErrSignoffRefused
// otherwise). An isolation then reads the zone's safe_state register
// (ErrPlantNotSafe when it is not in the expected state). When the worker
// requires attestations, every activity first checks that the incident's
// start is attested and allowed (ErrStartRefused). All of these refuse
// before touching anything.
//
// Every call to an integration carries an idempotency key derived from the
// Call (see Call.IdempotencyKey, NotifyKey, PageKey and PromptKey), so a
// retried or replayed activity never acts twice, and an Exercise flag; in
// exercise runs every outbound message text starts with ExercisePrefix.
package activities
