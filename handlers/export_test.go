package handlers

// RouteAccess lists every route of h with the name of the access it requires:
// commands as "/name", steps of flows (and so their buttons) as "flow:step".
func RouteAccess(h *Handlers) map[string]string {
	out := map[string]string{}
	for _, c := range h.commands {
		out["/"+c.name] = c.access.name
	}
	for flow, steps := range h.flows {
		for name, st := range steps {
			out[flow+":"+name] = st.access.name
		}
	}
	return out
}

// Text renders a message in a locale, for tests that compare whole answers.
func Text(h *Handlers, locale, id string) string { return newTranslator(h.bundle, locale).T(id) }
