package main

import (
	"fmt"
	"strconv"
	"strings"

	"zhucun/store"
)

// reminderRuleKeys are the county settings of the reminders (zhucun settings).
const reminderRuleKeys = "checkin_reminder, checkin_reminder_at, digest_at, escalate_after_days, quiet_hours"

// setReminderRule changes one reminder rule of a county; it reports whether key is one.
func setReminderRule(rs *store.ReminderSettings, key, value string) (bool, error) {
	switch key {
	case "checkin_reminder":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return true, fmt.Errorf("checkin_reminder: expected true or false")
		}
		rs.CheckInReminder = b
	case "checkin_reminder_at", "digest_at":
		at, ok := parseTimeOfDay(value)
		if !ok {
			return true, fmt.Errorf("%s: expected a time of day such as 10:00", key)
		}
		if key == "digest_at" {
			rs.DigestAt = at
		} else {
			rs.CheckInReminderAt = at
		}
	case "escalate_after_days":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 30 {
			return true, fmt.Errorf("escalate_after_days: expected a number of working days from 1 to 30")
		}
		rs.EscalateAfterDays = int32(n)
	case "quiet_hours":
		from, to, ok := strings.Cut(value, "-")
		f, okf := parseTimeOfDay(from)
		t, okt := parseTimeOfDay(to)
		if !ok || !okf || !okt {
			return true, fmt.Errorf("quiet_hours: expected from-to such as 21:30-07:30 (equal times: none)")
		}
		rs.QuietFrom, rs.QuietTo = f, t
	default:
		return false, nil
	}
	return true, nil
}

// parseTimeOfDay reads HH:MM as minutes after midnight.
func parseTimeOfDay(s string) (int32, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hour < 0 || hour > 23 || minute < 0 || minute > 59 || len(m) != 2 {
		return 0, false
	}
	return int32(hour*60 + minute), true
}

func timeOfDay(minute int32) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

// reminderRules lists a county's reminder rules as key=value lines.
func reminderRules(rs store.ReminderSettings) string {
	return fmt.Sprintf("checkin_reminder=%t\ncheckin_reminder_at=%s\ndigest_at=%s\nescalate_after_days=%d\nquiet_hours=%s-%s\n",
		rs.CheckInReminder, timeOfDay(rs.CheckInReminderAt), timeOfDay(rs.DigestAt), rs.EscalateAfterDays,
		timeOfDay(rs.QuietFrom), timeOfDay(rs.QuietTo))
}
