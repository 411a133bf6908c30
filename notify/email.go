package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// Email sends each notification as a plain-text mail over SMTP, with
// STARTTLS and authentication (PLAIN) when configured.
type Email struct {
	SMTP spec.SMTP
	deps Deps
}

// Deliver implements Channel.
func (e *Email) Deliver(ctx context.Context, n Notification) error {
	msg, err := e.message(n)
	if err != nil {
		return err
	}
	// The password first: a variable the node refuses (a provider's
	// token) or an unset one ends the delivery before any connection.
	var pw string
	if e.SMTP.Username != "" {
		if pw = e.deps.getenv(e.SMTP.PasswordEnv); pw == "" {
			return fmt.Errorf("%w: %s (the smtp password_env)", ErrNoSecret, e.SMTP.PasswordEnv)
		}
	}
	addr := net.JoinHostPort(e.SMTP.Server, strconv.Itoa(e.SMTP.Port))
	conn, err := e.deps.guard().Dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return refusal(addr, err)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = conn.SetDeadline(deadline)
	// Closing the connection ends a conversation stuck past ctx.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, e.SMTP.Server)
	if err != nil {
		return smtpErr("greeting", err)
	}
	defer c.Close()
	if err := c.Hello("detour"); err != nil {
		return smtpErr("EHLO", err)
	}
	if e.SMTP.StartTLS == nil || *e.SMTP.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%w: %s does not offer STARTTLS (set starttls: false only for a relay on a trusted network)", ErrRejected, addr)
		}
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.deps.SMTPTLS != nil {
			cfg = e.deps.SMTPTLS.Clone()
		}
		cfg.ServerName = e.SMTP.Server
		if err := c.StartTLS(cfg); err != nil {
			return smtpErr("STARTTLS", err)
		}
	}
	if e.SMTP.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.SMTP.Username, pw, e.SMTP.Server)); err != nil {
			return smtpErr("AUTH", err)
		}
	}
	if err := c.Mail(e.SMTP.From); err != nil {
		return smtpErr("MAIL FROM", err)
	}
	for _, to := range e.SMTP.To {
		if err := c.Rcpt(to); err != nil {
			return smtpErr("RCPT TO "+to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("end of DATA", err)
	}
	// The server took the mail; a failed QUIT must not send it twice.
	_ = c.Quit()
	return nil
}

func smtpErr(step string, err error) error {
	return fmt.Errorf("%w: smtp %s: %w", ErrRejected, step, err)
}

// message is the mail: headers, then the plain text, quoted-printable.
// The Message-ID carries the event's ID, so mail systems drop a
// redelivered copy.
func (e *Email) message(n Notification) ([]byte, error) {
	host := "detour"
	if _, h, ok := strings.Cut(e.SMTP.From, "@"); ok {
		host = h
	}
	var b bytes.Buffer
	hdr := func(k, v string) {
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	hdr("From", e.SMTP.From)
	hdr("To", strings.Join(e.SMTP.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", headline(n)))
	hdr("Date", n.Time.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", fmt.Sprintf("<detour-event-%s@%s>", n.ID, host))
	hdr("X-Detour-Event", n.ID)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="utf-8"`)
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(plainText(n), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
