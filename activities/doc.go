// Package activities carries out plan steps. One Activities struct holds
// small interfaces defined here (Chat, Pager, Isolator, Webhook, PlantState,
// EDR), each implemented by an integration package and by a simulated twin
// (integrations/sim); its exported methods are the activities, one per
// registry action plus Notify, Page and Prompt.
//
// The package is also guard three of the safety interlock: every
// safety-critical activity (IsolateZone, BlockConduit, RestoreZone) first
// re-checks the sign-off it was handed with CheckSignoff and refuses, with a
// non-retryable ErrSignoffRefused failure, before touching anything.
//
// Every call to an integration carries an idempotency key derived from the
// Call (see Call.IdempotencyKey, NotifyKey, PageKey and PromptKey), so a
// retried or replayed activity never acts twice, and an Exercise flag; in
// exercise runs every outbound message text starts with ExercisePrefix.
package activities
