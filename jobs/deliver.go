package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"zhucun/handlers"
	"zhucun/store"
)

// maxSendAttempts is how often a message is tried before it is given up.
const maxSendAttempts = 5

// sendTimeout bounds one send, its 429 waits included; shorter than the lease.
const sendTimeout = 2 * time.Minute

// sendLoop sends due messages until ctx ends, looking again when woken, every PollEvery,
// or at once after a message went out.
func (s *Scheduler) sendLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollEvery)
	defer t.Stop()
	for {
		wake := s.woken()
		sent, err := s.DeliverOne(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.cfg.Logger.Warn("send reminder", slog.String("error", err.Error()))
		case sent:
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// Deliver sends the messages due now one after another until none is left or ctx ends,
// and returns how many it took.
func (s *Scheduler) Deliver(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		took, err := s.DeliverOne(ctx)
		if err != nil || !took {
			return n, err
		}
		n++
	}
	return n, nil
}

// DeliverOne claims the next message due and sends it; it reports whether there was
// one. Once claimed, the send is finished even if ctx ends meanwhile (a message is not
// cut off in flight), and its outcome recorded: sent; the person unreachable (marked so,
// and nothing more is sent to them); or tried again later, and given up after
// maxSendAttempts.
func (s *Scheduler) DeliverOne(ctx context.Context) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	m, err := s.db.ClaimMessage(ctx, s.now(), s.cfg.Lease)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	err = s.out.Send(work, handlers.Reply{ChatID: m.ChatID, Text: m.Text})
	now := s.now()
	switch {
	case err == nil:
		err = s.db.FinishMessage(work, m, store.OutcomeSent, now, "")
	case errors.Is(err, ErrUnreachable):
		s.cfg.Logger.Info("reminder not sent: the person blocked the bot", slog.Int64("chat_id", m.ChatID))
		if err = s.db.MarkBlocked(work, m.ChatID); err == nil {
			if err = s.db.FinishMessage(work, m, store.OutcomeBlocked, now, ""); err == nil {
				_, err = s.db.DropMessagesTo(work, m.ChatID, store.OutcomeBlocked, now)
			}
		}
	case m.Attempts >= maxSendAttempts:
		s.cfg.Logger.Error("reminder given up", slog.Int64("chat_id", m.ChatID), slog.String("kind", m.Kind),
			slog.Int("attempts", int(m.Attempts)), slog.String("error", err.Error()))
		err = s.db.FinishMessage(work, m, store.OutcomeFailed, now, err.Error())
	default:
		pause := time.Duration(m.Attempts*m.Attempts) * time.Minute
		s.cfg.Logger.Warn("reminder not sent: trying again later", slog.Int64("chat_id", m.ChatID), slog.String("kind", m.Kind),
			slog.Duration("retry_in", pause), slog.String("error", err.Error()))
		err = s.db.PostponeMessage(work, m, now.Add(pause), err.Error())
	}
	if errors.Is(err, store.ErrConflict) {
		// The claim ran out and another sender took the message: its result counts.
		s.cfg.Logger.Warn("reminder claim ran out while sending", slog.Int64("chat_id", m.ChatID))
		err = nil
	}
	return true, err
}
