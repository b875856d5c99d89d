// Package mail is the "mail" host module: it builds RFC 5322 messages and
// delivers them to .eml files, an SMTP server, or the log.
package mail
