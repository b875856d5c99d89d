// Package startstop gives a component's Start and Stop their shared
// rules (after River's rivershared/startstop): Start runs at most once,
// Stop runs at most once and every later call waits for the first and
// returns its error, and a Stop that comes before any Start settles the
// component so a later Start does nothing.
package startstop
