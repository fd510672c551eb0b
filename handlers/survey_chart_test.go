package handlers

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// surveyBarHeight measures the bar at x from the baseline up: the rows of colour c.
func surveyBarHeight(img image.Image, x, baseline int, c color.RGBA) int {
	h := 0
	for y := baseline - 1; y >= img.Bounds().Min.Y; y-- {
		if color.RGBAModel.Convert(img.At(x, y)) != c {
			break
		}
		h++
	}
	return h
}

func TestSurveyChartBarsMatchCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		counts [][]int
		unit   int // pixels per answer
	}{
		{"small", [][]int{{9, 3, 2, 1}, {0, 5, 8, 2}, {15, 0, 0, 0}, {1, 1, 1, 12}}, 16},
		{"one answer", [][]int{{1, 0, 0, 0}}, 240},
		{"many", [][]int{{300, 120, 7, 0}, {1, 2, 3, 4}}, 1},
		{"none", [][]int{{0, 0}, {0, 0}}, 240},
	} {
		c := newSurveyChart(tc.counts)
		b, err := c.png("Dongping Village - survey 7", []string{"Satisfied", "Basically satisfied", "Dissatisfied", "Don't know"})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%s: not a PNG", tc.name)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if c.unit != tc.unit {
			t.Errorf("%s: got %d pixels per answer, want %d", tc.name, c.unit, tc.unit)
		}
		for q, counts := range tc.counts {
			for o, n := range counts {
				r := c.bar(q, o)
				x := (r.Min.X + r.Max.X) / 2
				if !image.Pt(x, c.baseline()-1).In(img.Bounds()) {
					t.Fatalf("%s: bar Q%d/%d at x %d lies outside the image %v", tc.name, q+1, o, x, img.Bounds())
				}
				if got, want := surveyBarHeight(img, x, c.baseline(), surveyPalette[o]), n*tc.unit; got != want {
					t.Errorf("%s: bar Q%d option %d: got %d pixels, want %d (%d answers)", tc.name, q+1, o, got, want, n)
				}
				// A bar is as wide as the others: its edges are where the colour ends.
				if n > 0 && (surveyBarHeight(img, r.Min.X, c.baseline(), surveyPalette[o]) != n*tc.unit ||
					surveyBarHeight(img, r.Max.X, c.baseline(), surveyPalette[o]) != 0) {
					t.Errorf("%s: bar Q%d option %d is not %d pixels wide at %v", tc.name, q+1, o, surveyChartBarW, r)
				}
			}
		}
	}
}

func TestSlipSheet(t *testing.T) {
	t.Parallel()
	slips := make([]surveySlip, 5)
	for i := range slips {
		slips[i] = surveySlip{number: 13 + i, link: "https://t.me/test_bot?start=s_AAAAAAAAAAAAAAAAAAAAA" + string(rune('A'+i))}
	}
	b, err := slipSheet(slips, "Dōngpíng Village 东坪", "Until 2026-12-07")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(slipSheetWidth, slipSheetHeight) {
		t.Fatalf("sheet size: got %v, want %dx%d", got, slipSheetWidth, slipSheetHeight)
	}
	// The cells with a slip hold a QR code (dark modules at its centre); the rest are blank.
	cellW, cellH := slipSheetWidth/slipSheetCols, slipSheetHeight/slipSheetRows
	for i := range slipsPerSlipSheet {
		x0, y0 := (i%slipSheetCols)*cellW, (i/slipSheetCols)*cellH
		dark := 0
		for y := y0 + 40; y < y0+16+slipQRSize-24; y += 3 {
			for x := x0 + (cellW-slipQRSize)/2 + 24; x < x0+(cellW+slipQRSize)/2-24; x += 3 {
				if r, _, _, _ := img.At(x, y).RGBA(); r < 0x4000 {
					dark++
				}
			}
		}
		if (i < len(slips)) != (dark > 100) {
			t.Errorf("cell %d: %d dark pixels sampled, want a QR code: %v", i, dark, i < len(slips))
		}
	}
}

func Example_surveyASCII() {
	fmt.Println(surveyASCII("Dōngpíng Village"), surveyASCII("东坪村"))
	// Output: Dongping Village ???
}
