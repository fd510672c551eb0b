package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"zhucun/store"
)

// regionColumns are the columns of a regions CSV file, in this order, with a header row.
var regionColumns = []string{"code", "parent_code", "level", "name", "name_en", "latitude", "longitude", "radius_m", "categories"}

// readRegionsCSV parses a regions file; every bad row is reported with its line.
func readRegionsCSV(r io.Reader) ([]store.RegionInput, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(regionColumns)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // a BOM from spreadsheet exports
	if !slices.Equal(header, regionColumns) {
		return nil, fmt.Errorf("header must be %s", strings.Join(regionColumns, ","))
	}
	var out []store.RegionInput
	var errs []error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %w", pe.Line, pe.Err)
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		in, err := regionRow(rec)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		out = append(out, in)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func regionRow(rec []string) (store.RegionInput, error) {
	in := store.RegionInput{Code: rec[0], ParentCode: rec[1], Level: rec[2], Name: rec[3], NameEn: rec[4]}
	if in.Code == "" || in.Name == "" {
		return in, errors.New("code and name are required")
	}
	if in.Level != store.LevelVillage {
		if rec[5] != "" || rec[6] != "" || rec[7] != "" || rec[8] != "" {
			return in, errors.New("only a village has coordinates, a radius and categories")
		}
		return in, nil
	}
	lat, err1 := strconv.ParseFloat(rec[5], 64)
	lon, err2 := strconv.ParseFloat(rec[6], 64)
	// NaN passes no comparison, so the ranges are written to hold only for numbers in them.
	if err1 != nil || err2 != nil || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) {
		return in, errors.New("a village needs latitude (-90…90) and longitude (-180…180)")
	}
	radius, err := strconv.ParseInt(rec[7], 10, 32)
	if err != nil || radius <= 0 || radius > 50000 {
		return in, errors.New("a village needs radius_m, metres between 1 and 50000")
	}
	r32 := int32(radius)
	in.Latitude, in.Longitude, in.RadiusM = &lat, &lon, &r32
	if rec[8] != "" {
		for _, c := range strings.Split(rec[8], ";") {
			c = strings.TrimSpace(c)
			if !slices.Contains(store.Categories, c) {
				return in, fmt.Errorf("unknown category %q (known: %s)", c, strings.Join(store.Categories, ";"))
			}
			in.Categories = append(in.Categories, c)
		}
	}
	return in, nil
}

// importRegions loads a regions file in one transaction: all rows or none.
func importRegions(ctx context.Context, db *store.DB, r io.Reader) (inserted, updated int, err error) {
	rows, err := readRegionsCSV(r)
	if err != nil {
		return 0, 0, err
	}
	err = db.InTx(ctx, func(tx *store.DB) error {
		inserted, updated, err = tx.UpsertRegions(ctx, rows)
		return err
	})
	return inserted, updated, err
}
