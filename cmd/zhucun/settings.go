package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"zhucun/store"
)

// countySettings shows a county's rules and changes those given as key=value:
// location_required=true|false, required_days=0…31, timezone=Area/City (empty: the
// deployment's), weekly_deadline_weekday=1…7, weekly_deadline_hour=0…24, and the
// reminder rules (setReminderRule).
func countySettings(ctx context.Context, db *store.DB, code string, changes []string, stdout io.Writer) error {
	county, err := db.RegionByCode(ctx, code)
	if err != nil {
		return fmt.Errorf("county %q: %w", code, err)
	}
	if county.Level != store.LevelCounty {
		return fmt.Errorf("%s is a %s, not a county", code, county.Level)
	}
	s, err := db.CountySettings(ctx, county.ID)
	if err != nil {
		return err
	}
	dl, err := db.WeeklyDeadline(ctx, county.ID)
	if err != nil {
		return err
	}
	deadlineChanged := false
	rs, err := db.ReminderSettings(ctx, county.ID)
	if err != nil {
		return err
	}
	for _, c := range changes {
		key, value, ok := strings.Cut(c, "=")
		if !ok {
			return fmt.Errorf("%q: expected key=value", c)
		}
		switch key {
		case "location_required":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("location_required: expected true or false")
			}
			s.LocationRequired = b
		case "required_days":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || n > 31 {
				return fmt.Errorf("required_days: expected a number of days from 0 to 31")
			}
			s.RequiredDays = int32(n)
		case "timezone":
			if value != "" {
				if _, err := time.LoadLocation(value); err != nil {
					return fmt.Errorf("timezone: unknown time zone %q", value)
				}
			}
			s.Timezone = value
		case "weekly_deadline_weekday":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > 7 {
				return fmt.Errorf("weekly_deadline_weekday: expected 1 (Monday) to 7 (Sunday)")
			}
			dl.Weekday, deadlineChanged = int32(n), true
		case "weekly_deadline_hour":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || n > 24 {
				return fmt.Errorf("weekly_deadline_hour: expected an hour from 0 to 24")
			}
			dl.Hour, deadlineChanged = int32(n), true
		default:
			known, err := setReminderRule(&rs, key, value)
			if err != nil {
				return err
			}
			if !known {
				return fmt.Errorf("unknown setting %q (known: location_required, required_days, timezone, weekly_deadline_weekday, weekly_deadline_hour, %s)", key, reminderRuleKeys)
			}
		}
	}
	if len(changes) > 0 {
		if err := db.SetCountySettings(ctx, s); err != nil {
			return err
		}
		if err := db.SetReminderSettings(ctx, rs); err != nil {
			return err
		}
	}
	if deadlineChanged {
		if err := db.SetWeeklyDeadline(ctx, county.ID, dl); err != nil {
			return err
		}
	}
	tz := s.Timezone
	if tz == "" {
		tz = "(ZHUCUN_TIMEZONE)"
	}
	fmt.Fprintf(stdout, "%s %s\nlocation_required=%t\nrequired_days=%d\ntimezone=%s\nweekly_deadline_weekday=%d\nweekly_deadline_hour=%d\n",
		county.Code, county.Name, s.LocationRequired, s.RequiredDays, tz, dl.Weekday, dl.Hour)
	fmt.Fprint(stdout, reminderRules(rs))
	return nil
}
