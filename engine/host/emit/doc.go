// Package emit is the "emit" host module: a listener raises a follow-up
// event that goes through routing and the durable queue like a webhook.
package emit
