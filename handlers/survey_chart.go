package handlers

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"unicode"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// Images carry ASCII only. basicfont's 7×13 face has no Chinese, and the smallest CJK
// font that would (WenQuanYi Micro Hei, about 5 MB; Noto Sans CJK, 16–19 MB a weight)
// would multiply the binary's size for a few words. So a slip shows the village's
// English (pinyin) name, its number and its closing date, and the Chinese name goes in
// the message that carries the sheet; a chart is labelled with digits and Q1…Qn, its
// caption names the questions and colours.

var (
	surveyInk   = color.RGBA{0x21, 0x21, 0x21, 0xff}
	surveyFaint = color.RGBA{0xbd, 0xbd, 0xbd, 0xff}
	// surveyPalette colours a template's options in order: satisfied, basically
	// satisfied, dissatisfied, don't know, then spares.
	surveyPalette = []color.RGBA{
		{0x1b, 0x7f, 0x3b, 0xff}, {0x8b, 0xc3, 0x4a, 0xff}, {0xd3, 0x2f, 0x2f, 0xff},
		{0x9e, 0x9e, 0x9e, 0xff}, {0x19, 0x76, 0xd2, 0xff}, {0xff, 0xa0, 0x00, 0xff},
	}
)

// asciiText writes s with ASCII letters only: accents are dropped (Dōngpíng →
// Dongping), anything else becomes '?'.
func surveyASCII(s string) string {
	var b strings.Builder
	for _, c := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, c):
		case c >= ' ' && c <= '~':
			b.WriteRune(c)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// textWidth is the width of ASCII text drawn at scale.
func surveyTextWidth(s string, scale int) int {
	return font.MeasureString(basicfont.Face7x13, s).Ceil() * scale
}

// drawLabel draws ASCII text with its top left at x, y, each pixel of the 7×13 face
// as a scale×scale square.
func surveyLabel(dst draw.Image, x, y int, s string, scale int, c color.Color) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, s).Ceil()
	if w == 0 {
		return
	}
	mask := image.NewAlpha(image.Rect(0, 0, w, face.Height))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	src := image.NewUniform(c)
	for py := 0; py < face.Height; py++ {
		for px := 0; px < w; px++ {
			if mask.AlphaAt(px, py).A > 0x7f {
				r := image.Rect(x+px*scale, y+py*scale, x+(px+1)*scale, y+(py+1)*scale)
				draw.Draw(dst, r, src, image.Point{}, draw.Src)
			}
		}
	}
}

func surveyFill(dst draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func surveyPNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// Geometry of a results chart: groups of bars, one group per question and one bar per
// option, on a common baseline. A bar is count × unit pixels high; unit is the largest
// whole number of pixels that keeps the tallest bar within surveyChartMaxPlot.
const (
	surveyChartLeft     = 40
	surveyChartTop      = 56
	surveyChartRight    = 30
	surveyChartBottom   = 72
	surveyChartBarW     = 24
	surveyChartBarGap   = 4
	surveyChartGroupGap = 36
	surveyChartMaxPlot  = 240
	surveyChartMinWidth = 560
)

// surveyChart is a bar chart of counts[question][option].
type surveyChart struct {
	counts [][]int
	unit   int
	plot   int // height of the plot area, the tallest bar
}

func newSurveyChart(counts [][]int) surveyChart {
	top := 1
	for _, q := range counts {
		for _, n := range q {
			top = max(top, n)
		}
	}
	unit := max(1, surveyChartMaxPlot/top)
	return surveyChart{counts: counts, unit: unit, plot: unit * top}
}

// baseline is the row just below the bars.
func (c surveyChart) baseline() int { return surveyChartTop + c.plot }

func (c surveyChart) groupWidth() int {
	if len(c.counts) == 0 {
		return 0
	}
	return len(c.counts[0])*(surveyChartBarW+surveyChartBarGap) - surveyChartBarGap
}

// bar is the rectangle of question q's option o.
func (c surveyChart) bar(q, o int) image.Rectangle {
	x := surveyChartLeft + q*(c.groupWidth()+surveyChartGroupGap) + o*(surveyChartBarW+surveyChartBarGap)
	h := c.counts[q][o] * c.unit
	return image.Rect(x, c.baseline()-h, x+surveyChartBarW, c.baseline())
}

// png draws the chart with an ASCII title and one legend label per option.
func (c surveyChart) png(title string, legend []string) ([]byte, error) {
	width := surveyChartLeft + len(c.counts)*(c.groupWidth()+surveyChartGroupGap) - surveyChartGroupGap + surveyChartRight
	width = max(width, surveyChartMinWidth, surveyChartLeft+surveyTextWidth(title, 1)+surveyChartRight)
	img := image.NewRGBA(image.Rect(0, 0, width, c.baseline()+surveyChartBottom))
	surveyFill(img, img.Bounds(), color.White)
	surveyLabel(img, surveyChartLeft, 12, title, 1, surveyInk)
	surveyFill(img, image.Rect(surveyChartLeft-8, c.baseline(), width-surveyChartRight+8, c.baseline()+1), surveyInk)
	for q, counts := range c.counts {
		for o, n := range counts {
			r := c.bar(q, o)
			surveyFill(img, r, surveyPalette[o%len(surveyPalette)])
			label := fmt.Sprint(n)
			surveyLabel(img, r.Min.X+(surveyChartBarW-surveyTextWidth(label, 1))/2, r.Min.Y-15, label, 1, surveyInk)
		}
		label := fmt.Sprintf("Q%d", q+1)
		x := surveyChartLeft + q*(c.groupWidth()+surveyChartGroupGap)
		surveyLabel(img, x+(c.groupWidth()-surveyTextWidth(label, 1))/2, c.baseline()+6, label, 1, surveyInk)
	}
	x, y := surveyChartLeft, c.baseline()+34
	for o, l := range legend {
		l = surveyASCII(l)
		if x+16+surveyTextWidth(l, 1) > width-surveyChartRight && x > surveyChartLeft {
			x, y = surveyChartLeft, y+18
		}
		surveyFill(img, image.Rect(x, y+2, x+10, y+12), surveyPalette[o%len(surveyPalette)])
		surveyLabel(img, x+16, y, l, 1, surveyInk)
		x += 16 + surveyTextWidth(l, 1) + 18
	}
	return surveyPNG(img)
}

// A sheet of slips is an A4 page at 150 dpi, 3 × 4 slips to be cut apart.
const (
	slipSheetWidth, slipSheetHeight = 1240, 1754
	slipSheetCols, slipSheetRows    = 3, 4
	slipsPerSlipSheet               = slipSheetCols * slipSheetRows
	slipQRSize                      = 280
)

// surveySlip is one slip to print: its number and the link it opens.
type surveySlip struct {
	number int
	link   string
}

// slipSheet draws up to slipsPerSlipSheet slips on one page: each a QR code of its link, its
// number, the village's ASCII name and the last day to answer.
func slipSheet(slips []surveySlip, village, until string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, slipSheetWidth, slipSheetHeight))
	surveyFill(img, img.Bounds(), color.White)
	cellW, cellH := slipSheetWidth/slipSheetCols, slipSheetHeight/slipSheetRows
	// Cutting lines, dashed.
	for i := 1; i < slipSheetCols; i++ {
		for y := 0; y < slipSheetHeight; y += 16 {
			surveyFill(img, image.Rect(i*cellW, y, i*cellW+1, y+8), surveyFaint)
		}
	}
	for j := 1; j < slipSheetRows; j++ {
		for x := 0; x < slipSheetWidth; x += 16 {
			surveyFill(img, image.Rect(x, j*cellH, x+8, j*cellH+1), surveyFaint)
		}
	}
	clip := func(s string, scale int) string {
		for s != "" && surveyTextWidth(s, scale) > cellW-24 {
			s = s[:len(s)-1]
		}
		return s
	}
	village, until = clip(surveyASCII(village), 2), clip(surveyASCII(until), 2)
	for i, s := range slips {
		x0, y0 := (i%slipSheetCols)*cellW, (i/slipSheetCols)*cellH
		q, err := qrcode.New(s.link, qrcode.Medium)
		if err != nil {
			return nil, fmt.Errorf("slip qr code: %w", err)
		}
		qr := q.Image(slipQRSize)
		at := image.Pt(x0+(cellW-slipQRSize)/2, y0+16)
		draw.Draw(img, image.Rectangle{Min: at, Max: at.Add(qr.Bounds().Size())}, qr, qr.Bounds().Min, draw.Src)
		y := y0 + 16 + slipQRSize + 6
		no := fmt.Sprintf("No. %d", s.number)
		surveyLabel(img, x0+(cellW-surveyTextWidth(no, 3))/2, y, no, 3, surveyInk)
		y += 13*3 + 6
		surveyLabel(img, x0+(cellW-surveyTextWidth(village, 2))/2, y, village, 2, surveyInk)
		y += 13*2 + 4
		surveyLabel(img, x0+(cellW-surveyTextWidth(until, 2))/2, y, until, 2, surveyInk)
	}
	return surveyPNG(img)
}
