package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which scripts/test.sh installs. Under CI a missing
// Chromium fails the test; elsewhere it skips it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is missing at %s (scripts/test.sh installs it: apt-get install chromium): %v", path, err)
		}
		t.Skipf("Chromium is missing at %s: install it (apt-get install chromium) to run the browser test", path)
	}
	return path
}

// browser starts a headless Chromium with a fresh profile, closed when the test ends.
func browser(t *testing.T, path string, width, height int) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser, which lives as long as the context of that
	// call: ctx, not one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// phaseTimeout bounds one phase of the browser test.
const phaseTimeout = 45 * time.Second

// play runs steps in the browser within phaseTimeout; on failure it saves a screenshot
// and shows what the chat holds.
func play(t *testing.T, ctx context.Context, failShot string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	err := chromedp.Do(pctx, steps...)
	if err == nil {
		return
	}
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	chat, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body.innerText + "\\n[picker open: " + document.getElementById("picker").open + ", people: " + document.getElementById("people").children.length + "]"`))
	if png, serr := chromedp.Run(dctx, chromedp.CaptureScreenshot()); serr == nil {
		os.WriteFile(failShot, png, 0o644)
	}
	t.Fatalf("browser: %v; the page shows (screenshot %s):\n%s", err, failShot, chat)
}

// screenshotDir is where the browser test leaves its screenshots: ZHUCUN_SCREENSHOT_DIR,
// else a directory of the test's own.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ZHUCUN_SCREENSHOT_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bubble is the XPath of a chat message containing text.
func bubble(text string) string {
	return fmt.Sprintf(`//main[@id="chat"]/div[contains(@class,"msg") and contains(., %q)]`, text)
}

// button is the XPath of the newest inline button labelled text.
func button(text string) string {
	return fmt.Sprintf(`(//main[@id="chat"]//div[@class="inline"]//button[contains(., %q)])[last()]`, text)
}

// TestPlaygroundInTheBrowser plays the demo in headless Chromium, at a desktop size and
// on a phone-sized screen: a member checks in on site with a live location and reports a
// problem with a photo; the first secretary sees the new problem with its photo, and
// the member among today's check-ins.
func TestPlaygroundInTheBrowser(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	shots := screenshotDir(t)
	for _, tc := range []struct {
		name          string
		width, height int
		mobile        bool
	}{
		{name: "desktop", width: 1280, height: 900},
		{name: "phone", width: 390, height: 844, mobile: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newPlaygroundEnv(t)
			base, _ := e.start(t)
			photo := filepath.Join(t.TempDir(), "site.png")
			if err := os.WriteFile(photo, testPhoto(t, 90), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx := browser(t, chromium, tc.width, tc.height)
			shot := func(name string) chromedp.Action[chromedp.Void] {
				return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					png, err := chromedp.CaptureScreenshot()(ctx, tg)
					if err != nil {
						return err
					}
					path := filepath.Join(shots, fmt.Sprintf("playground-%s-%s.png", tc.name, name))
					t.Logf("screenshot: %s", path)
					return os.WriteFile(path, png, 0o644)
				})
			}
			viewport := chromedp.EmulateViewport(int64(tc.width), int64(tc.height))
			if tc.mobile {
				viewport = chromedp.EmulateViewport(int64(tc.width), int64(tc.height), chromedp.EmulateMobile, chromedp.EmulateScale(2))
			}
			send := func(text string) chromedp.Action[chromedp.Void] {
				return chromedp.Steps(chromedp.SendKeys(chromedp.ID("text"), text), chromedp.Click(chromedp.ID("send")))
			}
			number := func(expr string) int {
				t.Helper()
				n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
				if err != nil {
					t.Fatalf("evaluate %s: %v", expr, err)
				}
				return n
			}
			const description = "村卫生室屋檐瓦片脱落，下雨时漏水"
			failShot := filepath.Join(shots, fmt.Sprintf("playground-%s-failure.png", tc.name))
			play(t, ctx, failShot,
				viewport,
				chromedp.Navigate(base+"/?lang=en"),
				// The picker: who one can be, with role and village.
				chromedp.WaitVisible(chromedp.CSS(`#people button[data-person="8000000004"]`)),
				chromedp.WaitVisible(`//dialog[@id="picker"]//button[contains(., "Team member") and contains(., "Dongping Village")]`),
				shot("picker"),
				chromedp.Click(chromedp.CSS(`#people button[data-person="8000000004"]`)),
				chromedp.WaitVisible(`//p[@id="banner" and contains(., "Demo")]`),

				// The member checks in, then shares a live location in the village.
				send("/checkin"),
				chromedp.WaitVisible(bubble("Checked in")),
				chromedp.Click(`//div[@id="keyboard"]//button[contains(., "Send location")]`),
				chromedp.WaitVisible(chromedp.ID("location")),
				chromedp.Click(`//ul[@id="places"]//label[contains(., "Dongping Village")]`),
				chromedp.Click(chromedp.ID("location-share")),
				chromedp.WaitVisible(bubble("Location recorded")),
				chromedp.WaitVisible(bubble("verified")),
				chromedp.Click(button("Skip")),
				// The photo prompt is edited in place into the confirmation.
				chromedp.WaitVisible(bubble("Check-in complete.")),
				shot("member-checkin"),

				// The member reports a problem with a photo.
				send("/report"),
				chromedp.Click(button("Other")),
				chromedp.WaitVisible(bubble("Describe the problem")),
				send(description),
				chromedp.WaitVisible(bubble("You may send 1 to 10 photos")),
				chromedp.SetUploadFiles(chromedp.ID("photo-file"), []string{photo}, chromedp.NodeReady),
				chromedp.WaitVisible(bubble("Photo 1 received")),
				// The photo shows in the chat as uploaded (64 px wide).
				chromedp.Poll[chromedp.Void](`document.querySelector("#chat .msg.user img")?.naturalWidth === 64`),
			)
			play(t, ctx, failShot,
				chromedp.Click(button("Photos done")),
				chromedp.Click(button("Village centre")),
				chromedp.Click(button("Normal")),
				chromedp.Click(button("Submit")),
				chromedp.WaitVisible(bubble("Problem recorded")),
				shot("member-report"),
			)
			play(t, ctx, failShot,

				// The first secretary sees the new problem, its photo, and the check-in.
				chromedp.Click(chromedp.ID("me")),
				chromedp.Click(chromedp.CSS(`#people button[data-person="8000000003"]`)),
				chromedp.WaitVisible(bubble(description)),
				send("/problems"),
				chromedp.Click(button("Open")),
				chromedp.Click(button("卫生室")),
				chromedp.WaitVisible(`//main[@id="chat"]/div[contains(., "photos from the report")]//img`),
				chromedp.Poll[chromedp.Void](`Array.from(document.querySelectorAll("#chat .msg.bot img")).some(i => i.naturalWidth === 64)`),
				send("/checkins"),
				chromedp.WaitVisible(bubble("Check-ins of")),
				chromedp.WaitVisible(bubble("王芳")),
				shot("secretary"),
			)
			if width := number(`document.documentElement.scrollWidth`); width > tc.width {
				t.Errorf("the page is %d px wide on a %d px screen, want no sideways scrolling", width, tc.width)
			}
		})
	}
}
