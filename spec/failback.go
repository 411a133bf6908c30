package spec

// validateFailback checks a record's failback settings: failback is
// auto or manual, failback_after is not negative, and both are for the
// failover policy only (the other policies have no pool to fail back
// to).
func validateFailback(e *Error, r *Record, path string) {
	switch r.Failback {
	case "", FailbackAuto, FailbackManual:
	default:
		e.add(path+".failback", "%q (choices: %s, %s)", r.Failback, FailbackAuto, FailbackManual)
	}
	if r.FailbackAfter < 0 {
		e.add(path+".failback_after", "%s is negative (want a duration such as 5m)", r.FailbackAfter.D())
	}
	if r.Policy != PolicyFailover && (r.FailbackAfter != 0 || r.Failback != "") {
		e.add(path+".failback", "applies to the failover policy only, not %s", r.Policy)
	}
}
