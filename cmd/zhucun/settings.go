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
// deployment's).
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
		default:
			return fmt.Errorf("unknown setting %q (known: location_required, required_days, timezone)", key)
		}
	}
	if len(changes) > 0 {
		if err := db.SetCountySettings(ctx, s); err != nil {
			return err
		}
	}
	tz := s.Timezone
	if tz == "" {
		tz = "(ZHUCUN_TIMEZONE)"
	}
	fmt.Fprintf(stdout, "%s %s\nlocation_required=%t\nrequired_days=%d\ntimezone=%s\n", county.Code, county.Name, s.LocationRequired, s.RequiredDays, tz)
	return nil
}
