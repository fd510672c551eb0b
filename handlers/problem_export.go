package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"zhucun/store"
)

// exportPage is how many problems the export reads at a time.
const exportPage = 500

func canExportLedger(r *Request) bool {
	return r.Admin || slices.ContainsFunc(r.Roles, func(ro store.Role) bool {
		return ro.Role == store.RoleSupervisor || ro.Role == store.RoleFirstSecretary
	})
}

// ledgerExport sends the problem ledger of the villages the user oversees as a
// spreadsheet, one row per problem; "/ledger CODE" narrows it to a region.
func (h *Handlers) ledgerExport(ctx context.Context, r *Request) error {
	villages, err := h.overseenVillages(ctx, r)
	if err != nil {
		return err
	}
	if code := strings.TrimSpace(r.In.Args); code != "" {
		region, err := r.tx.RegionByCode(ctx, code)
		switch {
		case errors.Is(err, store.ErrNotFound):
			villages = nil
		case err != nil:
			return err
		default:
			villages = slices.DeleteFunc(villages, func(v store.Region) bool { return !region.Contains(v) })
		}
		if len(villages) == 0 {
			r.Say("ledger.unknown_region", "Code", code)
			return nil
		}
	}
	if len(villages) == 0 {
		r.Say("common.not_allowed")
		return nil
	}
	var problems []store.Problem
	for {
		page, total, err := r.tx.Problems(ctx, store.ProblemFilter{RegionIDs: ids(villages), Limit: exportPage, Offset: len(problems)})
		if err != nil {
			return err
		}
		problems = append(problems, page...)
		if len(page) == 0 || len(problems) >= total {
			break
		}
	}
	if len(problems) == 0 {
		r.Say("ledger.export_none")
		return nil
	}
	b, err := h.ledgerSheet(ctx, r, villages, problems)
	if err != nil {
		return err
	}
	day := h.localToday().Format(time.DateOnly)
	r.Reply(Reply{Text: r.T("ledger.export_caption", "Count", len(problems), "Day", day),
		Document: &File{Name: "ledger-" + day + ".xlsx", Bytes: b}})
	return nil
}

// ledgerSheet writes the problems by village and number. Reporters appear as roles;
// photos as the SHA-256 of their archived bytes (none until archived).
func (h *Handlers) ledgerSheet(ctx context.Context, r *Request, villages []store.Region, problems []store.Problem) ([]byte, error) {
	byID := map[int64]store.Region{}
	for _, v := range villages {
		byID[v.ID] = v
	}
	slices.SortFunc(problems, func(a, b store.Problem) int {
		return cmp.Or(strings.Compare(byID[a.RegionID].Code, byID[b.RegionID].Code),
			cmp.Compare(a.Year, b.Year), cmp.Compare(a.Seq, b.Seq))
	})
	clocks, err := h.villageClocks(ctx, r, villages)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	nameOf := func(id int64) (string, error) {
		if n, ok := names[id]; ok {
			return n, nil
		}
		u, err := r.tx.UserByID(ctx, id)
		if err != nil {
			return "", err
		}
		names[id] = u.FirstName
		return u.FirstName, nil
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := r.T("ledger.export_sheet")
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	header := []any{}
	for _, id := range []string{"ledger.col_number", "ledger.col_village", "ledger.col_category", "ledger.col_description",
		"ledger.col_urgency", "ledger.col_reporter", "ledger.col_responsible", "ledger.col_unit", "ledger.col_measures",
		"ledger.col_deadline", "ledger.col_status", "ledger.col_overdue", "ledger.col_reported", "ledger.col_resolved",
		"ledger.col_verified", "ledger.col_closed", "ledger.col_close_reason", "ledger.col_photos", "ledger.col_hashes"} {
		header = append(header, r.T(id))
	}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return nil, err
	}
	now := h.cfg.NowFunc()
	for i, p := range problems {
		loc := clocks[p.RegionID]
		if loc == nil {
			loc = h.cfg.Location
		}
		date := func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.In(loc).Format(time.DateOnly)
		}
		responsible, deadline, overdue, closeReason := "", "", "", ""
		if p.ResponsibleID != nil {
			if responsible, err = nameOf(*p.ResponsibleID); err != nil {
				return nil, err
			}
		}
		if p.Deadline != nil {
			deadline = p.Deadline.Format(time.DateOnly)
		}
		if p.Overdue(dateOf(now.In(loc))) {
			overdue = r.T("ledger.yes")
		}
		if p.Status == store.StatusClosed {
			closeReason = r.T(closeReasonMessageID(p.CloseReason))
		}
		photos, err := r.tx.ProblemPhotos(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		var hashes []string
		for _, ph := range photos {
			if ph.SHA256 != nil {
				hashes = append(hashes, *ph.SHA256)
			}
		}
		cells := []any{p.Number(), byID[p.RegionID].DisplayName(r.Locale()), r.T(categoryMessageID(p.Category)), p.Description,
			r.T(urgencyMessageID(p.Urgency)), r.T(reporterRoleMessageID(p.ReporterRole)), responsible, p.ResponsibleUnit,
			p.Measures, deadline, r.T(statusMessageID(p.Status)), overdue, date(&p.ReportedAt), date(p.ResolvedAt),
			date(p.VerifiedAt), date(p.ClosedAt), closeReason, len(photos), strings.Join(hashes, "\n")}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(sheet, cell, &cells); err != nil {
			return nil, err
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write ledger spreadsheet: %w", err)
	}
	return buf.Bytes(), nil
}
