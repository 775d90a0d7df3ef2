package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is one Chromium (headless, its own profile) driving ward; each
// tab() is a separate browser context with its own cookies, like another
// person's computer.
type browser struct {
	t     *testing.T
	w     *ward
	alloc context.Context
	mu    sync.Mutex
	errs  []string
	// expected are errors a test provokes on purpose (a refusal the page
	// shows), matched by a part of their text.
	expected []string
}

// expect lets the pages log errors containing part: the test provokes them.
func (b *browser) expect(part string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, part)
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func newBrowser(t *testing.T, w *ward) *browser {
	path := chromiumPath()
	if path == "" {
		t.Skip("SKIP: no chromium on this machine; the browser tests need Debian's chromium (apt-get install chromium) — .ci/run installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-gpu", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	// The first context starts the browser; every tab is a new browser
	// context inside it.
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b := &browser{t: t, w: w, alloc: root}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.errs) > 0 {
			t.Errorf("the pages logged errors:\n%s", strings.Join(b.errs, "\n"))
		}
	})
	return b
}

// tab opens a fresh browser context and records its console errors.
func (b *browser) tab() context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.alloc, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				msg = fmt.Sprintf("console.error %v", e.Args)
			}
		case *runtime.EventExceptionThrown:
			msg = fmt.Sprintf("exception: %s (%s:%d)", e.ExceptionDetails.Text, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				msg = fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		}
		if msg != "" {
			b.mu.Lock()
			if !slices.ContainsFunc(b.expected, func(part string) bool { return strings.Contains(msg, part) }) {
				b.errs = append(b.errs, msg)
			}
			b.mu.Unlock()
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		b.t.Fatal(err)
	}
	return ctx
}

// do runs steps with a deadline, failing the test with a screenshot.
func (b *browser) do(ctx context.Context, name string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		b.shot(ctx, name+"-failed")
		b.t.Fatalf("%s: %v", name, err)
	}
}

// submit runs an action that loads a new page and waits until the new
// page (not the old one, which may hold the same element) shows sel.
func (b *browser) submit(ctx context.Context, name string, action chromedp.Action[chromedp.Void], sel string) {
	b.t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__wardOld = 1`)); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	b.do(ctx, name+" (act)", action)
	deadline := time.Now().Add(15 * time.Second)
	for {
		old, err := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof window.__wardOld`))
		if err == nil && old == "undefined" {
			break
		}
		if time.Now().After(deadline) {
			b.shot(ctx, name+"-failed")
			b.t.Fatalf("%s: the page did not change", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.do(ctx, name, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// shot saves a full-page screenshot under the test's temp dir.
func (b *browser) shot(ctx context.Context, name string) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.t.TempDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	if keep := os.Getenv("WARD_TEST_SCREENSHOTS"); keep != "" { // to look at them after the run
		os.MkdirAll(keep, 0o755)
		os.WriteFile(filepath.Join(keep, b.t.Name()+"-"+name+".png"), png, 0o644)
	}
}

func (b *browser) text(ctx context.Context, sel string) string {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (b *browser) location(ctx context.Context) string {
	b.t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(u, b.w.srv.URL)
}

// signIn signs email in with a code read from the dev mailbox, as a
// person would: type the address, ask for a code, type it.
func (b *browser) signIn(ctx context.Context, email string) {
	b.t.Helper()
	b.do(ctx, "sign-in page",
		chromedp.Navigate(b.w.srv.URL+"/sign-in?lang=en"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS(`button[value="code"]`)),
		chromedp.WaitVisible(chromedp.CSS("input.code")),
	)
	code := b.w.code(email)
	// Typed the way a Japanese keyboard gives it: full-width, with a space.
	typed := strings.Map(func(r rune) rune { return r - '0' + '０' }, code[:3]) + "　" + code[3:]
	b.do(ctx, "code page",
		chromedp.SendKeys(chromedp.CSS("input.code"), typed),
		chromedp.Click(chromedp.CSS(`button[value="verify"]`)),
		chromedp.WaitVisible(chromedp.CSS("#activity")),
	)
}

func TestBrowserCodeSignInAndDashboard(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	w.createAccount("haru@example.jp", "")
	ctx := b.tab()
	b.signIn(ctx, "haru@example.jp")
	if got := b.location(ctx); got != "/account" {
		t.Fatalf("after sign-in: %s", got)
	}
	page := b.text(ctx, "main")
	for _, want := range []string{"haru@example.jp", "Sign-in", "Code sent", "Secure my account"} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, page)
		}
	}
	b.shot(ctx, "dashboard")
	// Filtering by result keeps only those rows.
	b.do(ctx, "choose", chromedp.SetValue(chromedp.CSS("#result"), "sent"))
	b.submit(ctx, "filter", chromedp.Submit(chromedp.CSS("#result")), "#activity")
	if rows := b.text(ctx, "#activity tbody"); strings.Contains(rows, "Sign-in") || !strings.Contains(rows, "Code sent") {
		t.Fatalf("filtered rows:\n%s", rows)
	}
	// Notifications: turn one off; the always-on ones cannot be.
	b.do(ctx, "untick", chromedp.Click(chromedp.CSS("#n-new_sign_in-email")))
	b.submit(ctx, "save notifications", chromedp.Click(chromedp.CSS(`#notifications button`)), "#notifications")
	states, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`[document.querySelector("#n-new_sign_in-email").checked, document.querySelector("#n-security_changed-email").checked, document.querySelector("#n-security_changed-email").disabled]`))
	if err != nil || len(states) != 3 || states[0] || !states[1] || !states[2] {
		t.Fatalf("notification boxes after saving: %v %v", states, err)
	}
}

func TestBrowserSwitchLanguage(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	ctx := b.tab()
	b.do(ctx, "english", chromedp.Navigate(w.srv.URL+"/sign-in"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := b.text(ctx, "h1"); h != "Sign in" {
		t.Fatalf("English heading %q", h)
	}
	b.do(ctx, "switch", chromedp.Click(chromedp.CSS(`header a[lang="ja"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="ja"]`)))
	if h := b.text(ctx, "h1"); h != "サインイン" {
		t.Fatalf("Japanese heading %q", h)
	}
	// The choice sticks to later pages.
	b.do(ctx, "reset page", chromedp.Navigate(w.srv.URL+"/reset"), chromedp.WaitVisible(chromedp.CSS(`html[lang="ja"]`)))
	b.shot(ctx, "reset-ja")
}

// Two browsers signed in to one account; the first signs the second out.
func TestBrowserSignOutAnotherSession(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	w.createAccount("aoi@example.jp", "")
	laptop, phone := b.tab(), b.tab()
	b.signIn(laptop, "aoi@example.jp")
	w.in.Flow.Now = func() time.Time { return time.Now().Add(2 * time.Minute) } // past the resend cooldown
	b.signIn(phone, "aoi@example.jp")
	b.do(laptop, "reload", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#devices")))
	b.submit(laptop, "sign the phone out", chromedp.Click(chromedp.CSS(`#devices form[action$="/end"] button`)), "#devices")
	b.shot(laptop, "after-sign-out")
	b.do(phone, "phone reloads", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if got := b.location(phone); !strings.HasPrefix(got, "/sign-in") {
		t.Fatalf("the signed-out phone is at %s", got)
	}
}

// "This wasn't me" on an activity row leads to Secure my account, which
// signs every other device out and is recorded.
func TestBrowserThisWasntMeSecuresTheAccount(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	w.createAccount("rin@example.jp", "")
	mine, intruder := b.tab(), b.tab()
	b.signIn(intruder, "rin@example.jp")
	w.in.Flow.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	b.signIn(mine, "rin@example.jp")
	b.do(mine, "this wasn't me", chromedp.Click(chromedp.CSS(`#activity a[href^="/account/secure"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/secure"]`)))
	b.shot(mine, "secure")
	b.submit(mine, "secure", chromedp.Click(chromedp.CSS(`form[action="/account/secure"] button`)), `[role="status"]`)
	if n := b.text(mine, "main"); !strings.Contains(n, "Your account is secured") {
		t.Fatalf("after securing:\n%s", n)
	}
	b.do(intruder, "intruder reloads", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#email")))
	b.do(mine, "dashboard", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#activity")))
	if rows := b.text(mine, "#activity tbody"); !strings.Contains(rows, "Account secured") {
		t.Fatalf("not recorded:\n%s", rows)
	}
}

// Forgot password, end to end: code by mail, new password, then signed in
// with it.
func TestBrowserPasswordReset(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	w.createAccount("mei@example.jp", "an old password that is long")
	ctx := b.tab()
	b.do(ctx, "forgot", chromedp.Navigate(w.srv.URL+"/sign-in?lang=en"), chromedp.Click(chromedp.CSS(`a[href="/reset"]`)),
		chromedp.WaitVisible(chromedp.CSS("#email")), chromedp.SendKeys(chromedp.CSS("#email"), "mei@example.jp"),
		chromedp.Submit(chromedp.CSS("#email")), chromedp.WaitVisible(chromedp.CSS("input.code")))
	b.do(ctx, "code", chromedp.SendKeys(chromedp.CSS("input.code"), w.code("mei@example.jp")),
		chromedp.Click(chromedp.CSS(`button[value="verify"]`)), chromedp.WaitVisible(chromedp.CSS(`input[autocomplete="new-password"]`)))
	b.do(ctx, "type a new password", chromedp.SendKeys(chromedp.CSS("#password"), "violet kettle under seventeen maples"))
	b.submit(ctx, "new password", chromedp.Submit(chromedp.CSS("#password")), "main")
	b.shot(ctx, "reset-done")
	if r := w.do(browserish(), "POST", "/api/v1/sign-in/password", map[string]string{"email": "mei@example.jp", "password": "violet kettle under seventeen maples"}); r.status != 200 {
		t.Fatalf("the new password does not work: %d %s", r.status, r.raw)
	}
}

// Adding a phone from the dashboard: a code goes to the phone (read from
// the dev mailbox, as the SMS), the phone shows as verified and waiting to
// recover the account, then it is removed.
func TestBrowserAddAndRemoveAPhone(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	w.createAccount("yuna@example.jp", "")
	ctx := b.tab()
	b.signIn(ctx, "yuna@example.jp")
	b.do(ctx, "add phone", chromedp.SendKeys(chromedp.CSS("#contact"), "+81 90-1234-5678"),
		chromedp.Submit(chromedp.CSS("#contact")), chromedp.WaitVisible(chromedp.CSS("input.code")))
	if p := b.text(ctx, "main"); !strings.Contains(p, "+81********78") {
		t.Fatalf("code page:\n%s", p)
	}
	b.do(ctx, "type the code", chromedp.SendKeys(chromedp.CSS("input.code"), w.code("+819012345678")))
	b.submit(ctx, "code", chromedp.Click(chromedp.CSS(`button[value="verify"]`)), "#security")
	sec := b.text(ctx, "#security")
	if !strings.Contains(sec, "+819012345678") || !strings.Contains(sec, "verified") || !strings.Contains(sec, "can recover the account from") {
		t.Fatalf("security info after adding:\n%s", sec)
	}
	b.shot(ctx, "phone-added")
	// Secure my account lists the change with a way to undo it.
	b.do(ctx, "secure page", chromedp.Navigate(w.srv.URL+"/account/secure"), chromedp.WaitVisible(chromedp.CSS(".changes")))
	if ch := b.text(ctx, ".changes"); !strings.Contains(ch, "Contact added") || !strings.Contains(ch, "Undo") {
		t.Fatalf("recent changes:\n%s", ch)
	}
	b.do(ctx, "back", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#security")))
	b.submit(ctx, "remove", chromedp.Click(chromedp.CSS(`#security form[action$="/remove"] button`)), "#security")
	if sec := b.text(ctx, "#security"); strings.Contains(sec, "+819012345678") {
		t.Fatalf("the phone is still there:\n%s", sec)
	}
	// The account's email heard of both changes.
	r := w.do(nil, "GET", "/dev/mail.json?limit=5&to=yuna@example.jp", nil)
	if n := strings.Count(r.raw, "+81********78"); n < 2 {
		t.Fatalf("notices to the account's email: %s", r.raw)
	}
}

// At 320 px (a small phone) no page scrolls sideways; wide tables scroll
// inside their own box. Keyboard focus is visible.
func TestBrowserNarrowScreenAndKeyboard(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	w.createAccount("sho@example.jp", "")
	ctx := b.tab()
	b.do(ctx, "phone size", chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile))
	b.signIn(ctx, "sho@example.jp")
	for _, path := range []string{"/account", "/account/secure", "/sign-in", "/reset", "/check-mail"} {
		b.do(ctx, path, chromedp.Navigate(w.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if wide > 320 {
			b.shot(ctx, "too-wide"+strings.ReplaceAll(path, "/", "-"))
			t.Errorf("%s is %d px wide at a 320 px screen", path, wide)
		}
	}
	b.shot(ctx, "check-mail-320")
	// Tab reaches the first field of the sign-in page and shows where.
	b.do(ctx, "sign-in", chromedp.Navigate(w.srv.URL+"/reset"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.Focus(chromedp.CSS("#email")))
	outline, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`))
	if err != nil || outline == "none" {
		t.Fatalf("focused field has no visible outline: %q %v", outline, err)
	}
}
