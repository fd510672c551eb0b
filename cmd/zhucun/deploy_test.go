package main

// Tests of deploy/: the Dockerfile's build line builds a static binary that runs, and
// every variable the compose file, the env examples, the Kubernetes manifests and the
// systemd unit set is one the program reads, with the required ones all set.

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// repoRoot is the repository root as seen from this package's directory, where go test
// runs; it is also the Docker build context.
const repoRoot = "../.."

func deployPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot, "deploy"}, parts...)...)
}

// buildLine is the `go build` command of deploy/Dockerfile.
type buildLine struct {
	env  []string // assignments before the command, e.g. CGO_ENABLED=0
	args []string // the arguments of go, starting with "build"
	out  string   // the -o path inside the image
}

// readDockerfileBuildLine reads the one RUN instruction of deploy/Dockerfile that runs
// go build.
func readDockerfileBuildLine() (buildLine, error) {
	b, err := os.ReadFile(deployPath("Dockerfile"))
	if err != nil {
		return buildLine{}, err
	}
	return parseBuildLine(string(b))
}

// dockerInstructions splits a Dockerfile into its instructions: continuation lines
// joined, comments dropped.
func dockerInstructions(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if rest, cont := strings.CutSuffix(trimmed, `\`); cont {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	return out
}

var envAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func parseBuildLine(dockerfile string) (buildLine, error) {
	var runs []string
	for _, ins := range dockerInstructions(dockerfile) {
		if strings.HasPrefix(ins, "RUN ") && strings.Contains(ins, "go build") {
			runs = append(runs, ins)
		}
	}
	if len(runs) != 1 {
		return buildLine{}, fmt.Errorf("Dockerfile: got %d RUN instructions with go build, want 1", len(runs))
	}
	words, err := shellWords(strings.TrimPrefix(runs[0], "RUN "))
	if err != nil {
		return buildLine{}, fmt.Errorf("Dockerfile: %q: %w", runs[0], err)
	}
	for len(words) > 0 && strings.HasPrefix(words[0], "--") { // RUN's own flags (--mount=…)
		words = words[1:]
	}
	var b buildLine
	for len(words) > 0 && envAssignment.MatchString(words[0]) {
		b.env, words = append(b.env, words[0]), words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		return buildLine{}, fmt.Errorf("Dockerfile: %q does not run go build as its one command", runs[0])
	}
	b.args = words[1:]
	i := slices.Index(b.args, "-o")
	if i < 0 || i+1 >= len(b.args) {
		return buildLine{}, fmt.Errorf("Dockerfile: %q names no -o output", runs[0])
	}
	b.out = b.args[i+1]
	return b, nil
}

// shellWords splits a command line as sh would, for the quoting a build line uses; a
// line with more than one command (; & | and the like) is refused, since the test must
// run exactly what the image runs.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == ' ' || ch == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case ch == '"' || ch == '\'':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case strings.IndexByte(";&|<>`$\\", ch) >= 0:
			return nil, fmt.Errorf("shell syntax %q: the build line must be one plain command", ch)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// command is the build line as a command run from the repository root (the build
// context), writing the binary to out.
func (b buildLine) command(ctx context.Context, out string) (*exec.Cmd, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is not on PATH: %w", err)
	}
	args := slices.Clone(b.args)
	args[slices.Index(args, "-o")+1] = out
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), b.env...) // the line's assignments win
	return cmd, nil
}

func TestParseBuildLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dockerfile string
		wantEnv          []string
		wantArgs         []string
		wantErr          string
	}{
		{
			name: "continued, with mounts",
			dockerfile: "FROM golang AS build\n# a comment\nRUN --mount=type=cache,target=/x \\\n" +
				"    # a comment inside\n    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags \"-s -w\" -o /out/z ./cmd/z\nFROM scratch\n",
			wantEnv:  []string{"CGO_ENABLED=0", "GOOS=linux"},
			wantArgs: []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", "/out/z", "./cmd/z"},
		},
		{name: "two commands", dockerfile: "RUN go build -o /z . && strip /z\n", wantErr: "one plain command"},
		{name: "no output", dockerfile: "RUN go build .\n", wantErr: "no -o"},
		{name: "none", dockerfile: "FROM scratch\n", wantErr: "got 0 RUN"},
		{name: "two", dockerfile: "RUN go build -o /a .\nRUN go build -o /b .\n", wantErr: "got 2 RUN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := parseBuildLine(tc.dockerfile)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !slices.Equal(b.env, tc.wantEnv) || !slices.Equal(b.args, tc.wantArgs) {
				t.Fatalf("got env %q args %q, want %q %q", b.env, b.args, tc.wantEnv, tc.wantArgs)
			}
		})
	}
}

// TestDockerfile builds the binary with the Dockerfile's own build line and runs it, and
// checks that the final image is small, non-root and checks its own health.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	line, err := readDockerfileBuildLine()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(line.env, "CGO_ENABLED=0") {
		t.Errorf("build line env %q, want CGO_ENABLED=0 (a static binary)", line.env)
	}
	if !slices.Contains(line.args, "-trimpath") {
		t.Errorf("build line %q, want -trimpath", line.args)
	}
	if i := slices.Index(line.args, "-ldflags"); i < 0 || i+1 >= len(line.args) || line.args[i+1] != "-s -w" {
		t.Errorf("build line %q, want -ldflags \"-s -w\"", line.args)
	}
	if got := line.args[len(line.args)-1]; got != "./cmd/zhucun" {
		t.Errorf("build line builds %q, want ./cmd/zhucun", got)
	}

	text, err := os.ReadFile(deployPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var final []string // the instructions of the last stage
	for _, ins := range dockerInstructions(string(text)) {
		if strings.HasPrefix(ins, "FROM ") {
			final = nil
		}
		final = append(final, ins)
	}
	if len(final) == 0 || !(strings.Contains(final[0], "distroless/static") || strings.Contains(final[0], "alpine")) {
		t.Errorf("final stage %q, want distroless static or alpine", final)
	}
	want := map[string]func(string) bool{
		"COPY --from=build " + line.out + " /zhucun": func(s string) bool { return strings.HasPrefix(s, "COPY --from=build "+line.out+" /zhucun") },
		"USER of a numeric non-root id": func(s string) bool {
			id, ok := strings.CutPrefix(s, "USER ")
			uid, err := strconv.Atoi(strings.Split(id, ":")[0])
			return ok && err == nil && uid != 0
		},
		`HEALTHCHECK … CMD ["/zhucun", "healthcheck"]`: func(s string) bool {
			return strings.HasPrefix(s, "HEALTHCHECK ") && strings.HasSuffix(s, `CMD ["/zhucun", "healthcheck"]`)
		},
		`ENTRYPOINT ["/zhucun"]`: func(s string) bool { return s == `ENTRYPOINT ["/zhucun"]` },
		"STOPSIGNAL SIGTERM":     func(s string) bool { return s == "STOPSIGNAL SIGTERM" },
	}
	for name, ok := range want {
		if !slices.ContainsFunc(final, ok) {
			t.Errorf("the final stage lacks %s:\n%s", name, strings.Join(final, "\n"))
		}
	}
	ignore, err := os.ReadFile(deployPath("Dockerfile.dockerignore"))
	if err != nil || !slices.Contains(strings.Split(string(ignore), "\n"), ".git") {
		t.Errorf("deploy/Dockerfile.dockerignore (%v) must keep .git out of the build context", err)
	}

	// The shared build first: it fills the build cache, so that this second build of
	// the same line only links, rather than compiling everything again at the same time.
	zhucunBinary(t)
	bin := filepath.Join(t.TempDir(), "zhucun")
	cmd, err := line.command(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	var stdout, stderr bytes.Buffer
	help := exec.CommandContext(t.Context(), bin, "help")
	help.Env = []string{"PATH=" + os.Getenv("PATH")}
	help.Stdout, help.Stderr = &stdout, &stderr
	if err := help.Run(); err != nil {
		t.Fatalf("zhucun help: %v\n%s", err, stderr.String())
	}
	if stdout.String() != usage {
		t.Errorf("zhucun help printed %q, want the usage", stdout.String())
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for a dynamic loader: want a static binary")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %q: want a static binary", libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("the binary has a symbol table: want it stripped (-s)")
	}
}

// knownVariables is every variable the program reads: the settings table and the _FILE
// variants of the secrets.
func knownVariables() map[string]bool {
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
		if s.file {
			known[s.env+"_FILE"] = true
		}
	}
	return known
}

// requiredForServe are the variables serve needs on Postgres (each may come as _FILE).
var requiredForServe = []string{"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "ZHUCUN_SECRET"}

// missing returns the variables of want that set has neither directly nor as _FILE.
func missing(set map[string]string, want ...string) []string {
	var out []string
	for _, k := range want {
		_, direct := set[k]
		_, file := set[k+"_FILE"]
		if !direct && !file {
			out = append(out, k)
		}
	}
	return out
}

// testValues stand in for the secrets an example leaves empty or holds placeholders for.
var testValues = map[string]string{
	"TELEGRAM_BOT_TOKEN": testToken,
	"ZHUCUN_SECRET":      testSecret,
	"DATABASE_URL":       "postgres://zhucun:pw@db.example:5432/zhucun?sslmode=disable",
	"REDIS_URL":          "redis://:pw@redis.example:6379/0",
	"POSTGRES_PASSWORD":  "0123abcd",
}

// loadDeployed runs loadConfig for serve on the variables a deployment file sets.
func loadDeployed(t *testing.T, vars map[string]string) config {
	t.Helper()
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, nil, func(k string) string { return vars[k] }, true)
	if err != nil {
		t.Fatalf("the deployed settings do not load: %v", err)
	}
	return cfg
}

// envFile is a KEY=value file: the compose .env or the systemd EnvironmentFile.
type envFile struct {
	set    map[string]string // KEY=value lines
	listed map[string]bool   // set, or shown commented out as "# KEY=…"
	marked map[string]bool   // set keys whose comment above says "required"
}

var (
	envLine          = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	commentedEnvLine = regexp.MustCompile(`^#\s*([A-Z_][A-Z0-9_]*)=`)
)

func readEnvFile(t *testing.T, path string) envFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := envFile{set: map[string]string{}, listed: map[string]bool{}, marked: map[string]bool{}}
	var comment strings.Builder
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			comment.Reset()
		case strings.HasPrefix(line, "#"):
			if m := commentedEnvLine.FindStringSubmatch(line); m != nil {
				e.listed[m[1]] = true
			}
			comment.WriteString(line + "\n")
		default:
			m := envLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s:%d: %q is neither a comment nor KEY=value", path, i+1, line)
				continue
			}
			if _, dup := e.set[m[1]]; dup {
				t.Errorf("%s:%d: %s is set twice", path, i+1, m[1])
			}
			e.set[m[1]], e.listed[m[1]] = m[2], true
			e.marked[m[1]] = strings.Contains(comment.String(), "required")
		}
	}
	return e
}

// checkEnvExample checks an example env file: it lists every setting, sets only known
// variables (and extra, which others use), and marks the required ones it sets.
func checkEnvExample(t *testing.T, name string, e envFile, extra map[string]bool, required []string) {
	t.Helper()
	known := knownVariables()
	for _, s := range settings {
		if !e.listed[s.env] {
			t.Errorf("%s does not list %s (set or commented out)", name, s.env)
		}
	}
	for k := range e.set {
		if !known[k] && !extra[k] {
			t.Errorf("%s sets %s, which zhucun does not read", name, k)
		}
	}
	for _, k := range required {
		if _, ok := e.set[k]; ok && !e.marked[k] {
			t.Errorf("%s sets %s without marking it required in its comment", name, k)
		}
	}
}

// withTestValues returns vars with every empty or placeholder secret replaced by a
// valid test value.
func withTestValues(vars map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range vars {
		if tv, ok := testValues[k]; ok && (v == "" || strings.Contains(v, "REPLACE")) {
			v = tv
		}
		out[k] = v
	}
	return out
}

// composeFile is the part of deploy/compose.yaml the tests read.
type composeFile struct {
	Services map[string]composeService
	Volumes  map[string]any
}

type composeService struct {
	Image string
	Build struct {
		Context    string
		Dockerfile string
	}
	Command     []string
	EnvFile     any `yaml:"env_file"`
	Environment any
	Ports       []string
	Volumes     []string
	DependsOn   map[string]struct {
		Condition string
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test []string
	}
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// environment returns a service's environment, written as a map or as a list.
func (s composeService) environment(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch env := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range env {
			out[k] = fmt.Sprint(v)
		}
	case []any:
		for _, kv := range env {
			k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
			out[k] = v
		}
	default:
		t.Fatalf("environment of type %T", env)
	}
	return out
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}`)

// interpolate expands ${VAR…} as compose does, from vars.
func interpolate(s string, vars map[string]string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		return vars[interpolation.FindStringSubmatch(m)[1]]
	})
}

func TestDeployCompose(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(deployPath("compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	pg, redis, bot := c.Services["postgres"], c.Services["redis"], c.Services["zhucun"]
	if !strings.HasPrefix(pg.Image, "postgres:15") || !slices.ContainsFunc(pg.Healthcheck.Test, func(s string) bool { return strings.Contains(s, "pg_isready") }) {
		t.Errorf("postgres: image %q, healthcheck %q; want postgres:15 checked with pg_isready", pg.Image, pg.Healthcheck.Test)
	}
	if !strings.HasPrefix(redis.Image, "redis:7") || !slices.Equal(redis.Healthcheck.Test, []string{"CMD", "redis-cli", "ping"}) {
		t.Errorf("redis: image %q, healthcheck %q; want redis:7 checked with redis-cli ping", redis.Image, redis.Healthcheck.Test)
	}
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--appendonly yes") || !strings.Contains(cmd, "--appendfsync everysec") {
		t.Errorf("redis command %q, want --appendonly yes --appendfsync everysec", cmd)
	}
	for name, svc := range map[string]composeService{"postgres": pg, "redis": redis, "zhucun": bot} {
		if len(svc.Volumes) == 0 {
			t.Errorf("%s keeps its data in no volume", name)
		}
		for _, v := range svc.Volumes {
			if src, _, _ := strings.Cut(v, ":"); c.Volumes == nil || !hasKey(c.Volumes, src) {
				t.Errorf("%s: volume %q is not a named volume of the file", name, v)
			}
		}
	}
	if bot.Build.Context != ".." || bot.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("zhucun builds %+v, want context .. and deploy/Dockerfile", bot.Build)
	}
	for _, dep := range []string{"postgres", "redis"} {
		if got := bot.DependsOn[dep].Condition; got != "service_healthy" {
			t.Errorf("zhucun depends on %s with condition %q, want service_healthy", dep, got)
		}
	}
	if bot.EnvFile != ".env" && !slices.Equal(toStrings(bot.EnvFile), []string{".env"}) {
		t.Errorf("zhucun env_file %v, want .env", bot.EnvFile)
	}
	if d, err := time.ParseDuration(bot.StopGracePeriod); err != nil || d < 40*time.Second {
		t.Errorf("zhucun stop_grace_period %q, want at least 40s (the bot takes up to 35s to stop)", bot.StopGracePeriod)
	}

	// Variables: the service's environment and .env together.
	known := knownVariables()
	env := bot.environment(t)
	for k := range env {
		if !known[k] {
			t.Errorf("compose.yaml sets %s for zhucun, which zhucun does not read", k)
		}
	}
	dotenv := readEnvFile(t, deployPath(".env.example"))
	// Variables of .env only compose.yaml reads must be used there.
	composeOnly := map[string]bool{}
	for k := range dotenv.set {
		if !known[k] && strings.Contains(string(raw), "${"+k) {
			composeOnly[k] = true
		}
	}
	checkEnvExample(t, ".env.example", dotenv, composeOnly, requiredForServe)
	vars := withTestValues(dotenv.set)
	for k, v := range env {
		vars[k] = interpolate(v, vars) // environment: wins over env_file
	}
	if m := missing(vars, requiredForServe...); len(m) > 0 {
		t.Fatalf("compose.yaml and .env.example do not set %s, which serve requires", m)
	}
	cfg := loadDeployed(t, vars)
	if cfg.WebhookURL != "" {
		t.Errorf("compose runs in webhook mode by default (%s), want long polling", cfg.WebhookURL)
	}
	if u, err := url.Parse(cfg.DatabaseURL); err != nil || u.Hostname() != "postgres" || u.User.Username() != "zhucun" {
		t.Errorf("DATABASE_URL %q, want the postgres service", cfg.DatabaseURL)
	}
	if u, err := url.Parse(cfg.RedisURL); err != nil || u.Hostname() != "redis" {
		t.Errorf("REDIS_URL %q, want the redis service", cfg.RedisURL)
	}
	if !slices.ContainsFunc(bot.Volumes, func(v string) bool { return strings.HasSuffix(v, ":"+cfg.DataDir) }) {
		t.Errorf("zhucun mounts %q, none at ZHUCUN_DATA_DIR %s (the photo archive)", bot.Volumes, cfg.DataDir)
	}
	_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	if !slices.ContainsFunc(bot.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
		t.Errorf("zhucun publishes %q, none of them the port it listens on (%s)", bot.Ports, cfg.HTTPAddr)
	}
	// With the webhook pair set in .env, the same files run in webhook mode.
	vars["ZHUCUN_WEBHOOK_URL"], vars["ZHUCUN_WEBHOOK_SECRET"] = "https://bot.example.org/hook", hookSecret
	if cfg := loadDeployed(t, vars); cfg.WebhookURL == "" {
		t.Errorf("webhook variables in .env do not switch to webhook mode")
	}
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// k8sObject is one manifest of deploy/k8s.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct {
		Name      string
		Namespace string
		Labels    map[string]string
	}
	Data       map[string]string
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node
	Resources  []string // a Kustomization's
	file       string
}

type k8sPodTemplate struct {
	Metadata struct {
		Labels map[string]string
	}
	Spec struct {
		TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    *int  `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Containers []k8sContainer
		Volumes    []struct {
			Name                  string
			PersistentVolumeClaim *struct {
				ClaimName string `yaml:"claimName"`
			} `yaml:"persistentVolumeClaim"`
		}
	}
}

type k8sContainer struct {
	Name  string
	Image string
	Args  []string
	Env   []struct {
		Name  string
		Value string
	}
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string
		Limits   map[string]string
	}
	SecurityContext struct {
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

func readK8s(t *testing.T) map[string][]k8sObject {
	t.Helper()
	files, err := filepath.Glob(deployPath("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/k8s/*.yaml (%v)", err)
	}
	byKind := map[string][]k8sObject{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			o.file = filepath.Base(f)
			if o.Metadata.Namespace != "" {
				t.Errorf("%s: %s %s names namespace %q; the manifests are namespace-free", o.file, o.Kind, o.Metadata.Name, o.Metadata.Namespace)
			}
			byKind[o.Kind] = append(byKind[o.Kind], o)
		}
	}
	return byKind
}

// one returns the only object of kind, decoding its spec into spec.
func one(t *testing.T, byKind map[string][]k8sObject, kind string, spec any) k8sObject {
	t.Helper()
	if len(byKind[kind]) != 1 {
		t.Fatalf("deploy/k8s holds %d %s, want 1", len(byKind[kind]), kind)
	}
	o := byKind[kind][0]
	if spec != nil {
		if err := o.Spec.Decode(spec); err != nil {
			t.Fatalf("%s: %s spec: %v", o.file, kind, err)
		}
	}
	return o
}

// containerEnv is what a container gets: its envFrom ConfigMaps and Secrets, then env.
func containerEnv(t *testing.T, c k8sContainer, configMaps, secrets map[string]k8sObject) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		var src k8sObject
		var ok bool
		switch {
		case from.ConfigMapRef != nil:
			src, ok = configMaps[from.ConfigMapRef.Name]
		case from.SecretRef != nil:
			src, ok = secrets[from.SecretRef.Name]
		}
		if !ok {
			t.Errorf("container %s: envFrom %+v names no ConfigMap or Secret of deploy/k8s", c.Name, from)
			continue
		}
		for k, v := range src.Data {
			env[k] = v
		}
		for k, v := range src.StringData {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func TestDeployKubernetes(t *testing.T) {
	t.Parallel()
	byKind := readK8s(t)
	known := knownVariables()
	configMaps, secrets := map[string]k8sObject{}, map[string]k8sObject{}
	for _, o := range byKind["ConfigMap"] {
		configMaps[o.Metadata.Name] = o
		for k := range o.Data {
			if !known[k] {
				t.Errorf("%s: ConfigMap %s sets %s, which zhucun does not read", o.file, o.Metadata.Name, k)
			}
		}
	}
	for _, o := range byKind["Secret"] {
		secrets[o.Metadata.Name] = o
		for k := range o.StringData {
			if !known[k] {
				t.Errorf("%s: Secret %s sets %s, which zhucun does not read", o.file, o.Metadata.Name, k)
			}
		}
		if len(o.Data) > 0 {
			t.Errorf("%s: Secret %s has data; placeholders belong in stringData", o.file, o.Metadata.Name)
		}
	}

	var deploy struct {
		Replicas int
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template k8sPodTemplate
	}
	one(t, byKind, "Deployment", &deploy)
	pod := deploy.Template
	if deploy.Replicas != 2 {
		t.Errorf("Deployment replicas %d, want 2", deploy.Replicas)
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g < 40 {
		t.Errorf("terminationGracePeriodSeconds %v, want at least 40", g)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("the Deployment runs %d containers, want 1", len(pod.Spec.Containers))
	}
	bot := pod.Spec.Containers[0]
	checkPodSecurity(t, "Deployment", pod, bot)
	if p := bot.ReadinessProbe; p == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", p)
	}
	if p := bot.LivenessProbe; p == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}
	for _, r := range []string{"cpu", "memory"} {
		if bot.Resources.Requests[r] == "" || bot.Resources.Limits[r] == "" {
			t.Errorf("resources %+v, want requests and limits of %s", bot.Resources, r)
		}
	}
	for k, v := range deploy.Selector.MatchLabels {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("the Deployment selects %s=%s, which its pods lack", k, v)
		}
	}
	if len(bot.Ports) != 1 {
		t.Fatalf("the container has %d ports, want 1", len(bot.Ports))
	}
	for _, e := range bot.Env {
		if !known[e.Name] {
			t.Errorf("the Deployment sets %s, which zhucun does not read", e.Name)
		}
	}
	env := containerEnv(t, bot, configMaps, secrets)
	if m := missing(env, append(requiredForServe, "ZHUCUN_WEBHOOK_URL", "ZHUCUN_WEBHOOK_SECRET")...); len(m) > 0 {
		t.Fatalf("the Deployment's environment lacks %s", m)
	}
	cfg := loadDeployed(t, withTestValues(env))
	if cfg.WebhookURL == "" {
		t.Errorf("the Deployment runs without a webhook, want webhook mode")
	}
	if _, port, _ := net.SplitHostPort(cfg.HTTPAddr); port != strconv.Itoa(bot.Ports[0].ContainerPort) {
		t.Errorf("ZHUCUN_HTTP_ADDR %q, but the container port is %d", cfg.HTTPAddr, bot.Ports[0].ContainerPort)
	}
	// The data directory (the photo archive) outlives the pods and is shared by them.
	dataVolume := ""
	for _, m := range bot.VolumeMounts {
		if m.MountPath == cfg.DataDir {
			dataVolume = m.Name
		}
	}
	claim := ""
	for _, v := range pod.Spec.Volumes {
		if v.Name == dataVolume && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	var pvc struct {
		AccessModes []string `yaml:"accessModes"`
	}
	if o := one(t, byKind, "PersistentVolumeClaim", &pvc); claim != o.Metadata.Name || !slices.Contains(pvc.AccessModes, "ReadWriteMany") {
		t.Errorf("ZHUCUN_DATA_DIR %s is on volume %q, claim %q; want the ReadWriteMany claim %s (access modes %q)",
			cfg.DataDir, dataVolume, claim, o.Metadata.Name, pvc.AccessModes)
	}
	for _, p := range []*k8sProbe{bot.ReadinessProbe, bot.LivenessProbe} {
		if p != nil && p.HTTPGet.Port != bot.Ports[0].Name {
			t.Errorf("a probe checks port %q, want %q", p.HTTPGet.Port, bot.Ports[0].Name)
		}
	}

	var svc struct {
		Selector map[string]string
		Ports    []struct {
			Port       int
			TargetPort string `yaml:"targetPort"`
		}
	}
	service := one(t, byKind, "Service", &svc)
	for k, v := range svc.Selector {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the pods lack", k, v)
		}
	}
	if len(svc.Ports) != 1 || svc.Ports[0].TargetPort != bot.Ports[0].Name {
		t.Errorf("Service ports %+v, want one to the container port %q", svc.Ports, bot.Ports[0].Name)
	}

	var ing struct {
		Rules []struct {
			Host string
			HTTP struct {
				Paths []struct {
					Path     string
					PathType string `yaml:"pathType"`
					Backend  struct {
						Service struct {
							Name string
							Port struct{ Name string }
						}
					}
				}
			} `yaml:"http"`
		}
	}
	one(t, byKind, "Ingress", &ing)
	hook, _ := url.Parse(cfg.WebhookURL)
	if len(ing.Rules) != 1 || ing.Rules[0].Host != hook.Hostname() || len(ing.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress rules %+v, want one path on %s", ing.Rules, hook.Hostname())
	}
	if p := ing.Rules[0].HTTP.Paths[0]; p.Path != hook.Path || p.PathType != "Exact" || p.Backend.Service.Name != service.Metadata.Name {
		t.Errorf("Ingress path %+v, want exactly %s to the Service %s", p, hook.Path, service.Metadata.Name)
	}

	var pdb struct {
		MinAvailable int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
	}
	one(t, byKind, "PodDisruptionBudget", &pdb)
	if pdb.MinAvailable != 1 || len(pdb.Selector.MatchLabels) == 0 {
		t.Errorf("PodDisruptionBudget %+v, want minAvailable 1 of the bot's pods", pdb)
	}
	for k, v := range pdb.Selector.MatchLabels {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("the PodDisruptionBudget selects %s=%s, which the pods lack", k, v)
		}
	}

	var job struct{ Template k8sPodTemplate }
	one(t, byKind, "Job", &job)
	if len(job.Template.Spec.Containers) != 1 {
		t.Fatalf("the Job runs %d containers, want 1", len(job.Template.Spec.Containers))
	}
	migrate := job.Template.Spec.Containers[0]
	checkPodSecurity(t, "Job", job.Template, migrate)
	if !slices.Equal(migrate.Args, []string{"migrate"}) || migrate.Image != bot.Image {
		t.Errorf("the Job runs %s %q, want the Deployment's image (%s) with migrate", migrate.Image, migrate.Args, bot.Image)
	}
	jobEnv := containerEnv(t, migrate, configMaps, secrets)
	if m := missing(jobEnv, "DATABASE_URL"); len(m) > 0 {
		t.Errorf("the Job's environment lacks %s", m)
	}

	kust := one(t, byKind, "Kustomization", nil)
	for _, r := range kust.Resources {
		if _, err := os.Stat(deployPath("k8s", r)); err != nil {
			t.Errorf("kustomization.yaml: resource %s: %v", r, err)
		}
	}
	t.Run("kubectl kustomize", func(t *testing.T) {
		t.Parallel()
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			t.Skip("kubectl is not installed: the kustomization is not rendered (the manifests were checked above)")
		}
		out, err := exec.CommandContext(t.Context(), kubectl, "kustomize", deployPath("k8s")).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize: %v\n%s", err, out)
		}
		for _, kind := range []string{"ConfigMap", "Deployment", "Service", "Ingress", "PodDisruptionBudget", "PersistentVolumeClaim"} {
			if !bytes.Contains(out, []byte("kind: "+kind+"\n")) {
				t.Errorf("kubectl kustomize renders no %s", kind)
			}
		}
	})
}

func checkPodSecurity(t *testing.T, what string, pod k8sPodTemplate, c k8sContainer) {
	t.Helper()
	if v := pod.Spec.SecurityContext.RunAsNonRoot; v == nil || !*v {
		t.Errorf("%s: securityContext.runAsNonRoot %v, want true", what, v)
	}
	if v := c.SecurityContext.ReadOnlyRootFilesystem; v == nil || !*v {
		t.Errorf("%s: readOnlyRootFilesystem %v, want true", what, v)
	}
	if v := c.SecurityContext.AllowPrivilegeEscalation; v == nil || *v {
		t.Errorf("%s: allowPrivilegeEscalation %v, want false", what, v)
	}
}

// unitFile is a systemd unit: its directives by section, each with all its values.
type unitFile map[string]map[string][]string

func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is no directive", path, i+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func TestDeploySystemd(t *testing.T) {
	t.Parallel()
	unitPath := deployPath("systemd", "zhucun.service")
	u := readUnit(t, unitPath)
	svc := u["Service"]
	want := map[string]string{
		"ExecStart":               "/usr/local/bin/zhucun serve",
		"EnvironmentFile":         "/etc/zhucun/zhucun.env",
		"KillSignal":              "SIGTERM",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"StateDirectory":          "zhucun",
		"ReadWritePaths":          "/var/lib/zhucun",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter":        "@system-service",
		"DynamicUser":             "yes",
	}
	for k, v := range want {
		if !slices.Contains(svc[k], v) {
			t.Errorf("[Service] %s=%q, want %q among them", k, svc[k], v)
		}
	}
	if len(svc["TimeoutStopSec"]) != 1 {
		t.Errorf("[Service] TimeoutStopSec=%q, want one", svc["TimeoutStopSec"])
	} else if n, err := strconv.Atoi(svc["TimeoutStopSec"][0]); err != nil || n < 40 {
		t.Errorf("[Service] TimeoutStopSec=%s, want at least 40 (the bot takes up to 35s to stop)", svc["TimeoutStopSec"][0])
	}
	known := knownVariables()
	unitEnv := map[string]string{}
	for _, kv := range svc["Environment"] {
		k, v, _ := strings.Cut(kv, "=")
		unitEnv[k] = v
		if !known[k] {
			t.Errorf("[Service] Environment= sets %s, which zhucun does not read", k)
		}
	}
	if got := unitEnv["ZHUCUN_DATA_DIR"]; got != "/var/lib/zhucun" {
		t.Errorf("ZHUCUN_DATA_DIR=%q, want the state directory /var/lib/zhucun", got)
	}

	e := readEnvFile(t, deployPath("systemd", "zhucun.env.example"))
	checkEnvExample(t, "zhucun.env.example", e, nil, requiredForServe)
	vars := unitEnv
	for k, v := range e.set { // EnvironmentFile= wins over Environment=
		vars[k] = v
	}
	if m := missing(vars, requiredForServe...); len(m) > 0 {
		t.Fatalf("zhucun.env.example does not set %s, which serve requires", m)
	}
	loadDeployed(t, withTestValues(vars))

	t.Run("systemd-analyze", func(t *testing.T) {
		t.Parallel()
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed: the unit is not verified by systemd (its directives were checked above)")
		}
		// verify wants ExecStart to exist: point it at a real build of the binary.
		text, err := os.ReadFile(unitPath)
		if err != nil {
			t.Fatal(err)
		}
		unit := filepath.Join(t.TempDir(), "zhucun.service")
		text = bytes.ReplaceAll(text, []byte("/usr/local/bin/zhucun"), []byte(zhucunBinary(t)))
		if err := os.WriteFile(unit, text, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", unit).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify: %v, want no error and no warning:\n%s", err, out)
		}
		// Exposure 0 (locked down) to 10 (unsafe); 2.0 is well inside "OK".
		out, err = exec.CommandContext(t.Context(), analyze, "security", "--offline=yes", "--threshold=20", "--no-pager", unit).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze security: %v, want an exposure of at most 2.0:\n%s", err, out)
		}
	})
}
