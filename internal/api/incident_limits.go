package api

import (
	"net/http"
	"unicode/utf8"

	"github.com/seed3787e6f1/detour/controller"
)

// Incident text is public (the status page, its feed, notifications),
// so it is bounded where it enters: 40 incidents of 900 KiB once made
// every page load 38 MB. The state machine holds every command to the
// same bounds (controller.MaxIncidentTitle...); the API answers first,
// with advice.
const (
	// MaxIncidentTitle bounds an incident's title, in characters.
	MaxIncidentTitle = controller.MaxIncidentTitle
	// MaxIncidentMessage bounds one message of an incident, in bytes.
	MaxIncidentMessage = controller.MaxIncidentMessage
)

// validIncidentText answers 400 and returns false when the title or
// message is over its bound or not UTF-8.
func validIncidentText(w http.ResponseWriter, req IncidentRequest) bool {
	switch {
	case !utf8.ValidString(req.Title) || !utf8.ValidString(req.Message):
		writeError(w, http.StatusBadRequest, "the title and message must be UTF-8 text")
	case utf8.RuneCountInString(req.Title) > MaxIncidentTitle:
		writeError(w, http.StatusBadRequest, "the title is %d characters: at most %d (say more in the message); nothing was changed",
			utf8.RuneCountInString(req.Title), MaxIncidentTitle)
	case len(req.Message) > MaxIncidentMessage:
		writeError(w, http.StatusBadRequest, "the message is %d bytes: at most %d (%d KiB) per message; post a link to the details, or several updates; nothing was changed",
			len(req.Message), MaxIncidentMessage, MaxIncidentMessage>>10)
	default:
		return true
	}
	return false
}
