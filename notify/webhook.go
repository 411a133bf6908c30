package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// Webhook headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// body, keyed with the channel's secret.
	SignatureHeader = "X-Detour-Signature"
	// EventHeader and IdempotencyHeader carry the event's ID: receivers
	// drop a delivery whose ID they have seen.
	EventHeader       = "X-Detour-Event"
	IdempotencyHeader = "Idempotency-Key"
)

// Webhook posts each notification as JSON, signed when a secret is set.
type Webhook struct {
	URL       string
	SecretEnv string
	deps      Deps
}

// Deliver implements Channel.
func (w *Webhook) Deliver(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(EventHeader, n.ID)
	h.Set(IdempotencyHeader, n.ID)
	if w.SecretEnv != "" {
		secret := w.deps.getenv(w.SecretEnv)
		if secret == "" {
			return fmt.Errorf("%w: %s (the webhook's secret_env)", ErrNoSecret, w.SecretEnv)
		}
		h.Set(SignatureHeader, Sign([]byte(secret), body))
	}
	return post(ctx, w.deps.client, w.URL, body, h)
}

// Sign returns the X-Detour-Signature value of body: "sha256=" and the
// hex HMAC-SHA256 keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature with secret, in
// constant time: what a receiver runs.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}
