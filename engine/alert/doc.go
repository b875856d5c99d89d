// Package alert watches the queue and tells operators when something is
// wrong, and again when it is right: the [[alerts]] of config.toml.
//
// Every alerts_settings.interval the Alerter reads the queue's Stats and
// its stored per-minute history and checks each rule — wait (the oldest
// due pending job has waited too long), failures ("5/10m"), depth
// (pending jobs), stalled (due jobs waiting while nothing finishes) — per
// listener. A rule without a listener watches every listener, each on its
// own. An alert that starts firing sends one notification; while it lasts
// it repeats every alerts_settings.repeat; when it clears it sends one
// "recovered". Notifications go by mail (through engine/host/mail) and by
// webhook, signed the Standard Webhooks way (webhook-id,
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>") and sent
// through the SSRF-safe client of engine/host/http.
//
// Whether an alert is firing is kept in the queue's key/value store, so a
// restart does not repeat a "firing" notification nor lose a "recovered"
// one, and with a shared queue only one process (the one alive the
// longest, see engine.Queue.Processes) checks and notifies. The heartbeat
// URL, when set, is requested every heartbeat_interval by every process
// whose last look at the queue succeeded: silence means switchboard (or
// its queue) is down.
package alert
