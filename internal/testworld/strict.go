package testworld

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// StrictEC2 is an HTTP layer in front of moto that answers the way EC2 does
// where moto is lenient. It forwards every request (S3 included) and adds,
// deterministically (counted in requests, never timed, apart from the
// 6-hour volume rule on an injectable clock):
//
//   - eventual consistency: the first HiddenReads requests naming an ID
//     that was just created (a security group, an Elastic IP allocation or
//     association, an instance) do not see it. A filter value naming it
//     matches nothing; any other parameter naming it answers the NotFound
//     error of its kind (InvalidGroup.NotFound, InvalidInstanceID.NotFound,
//     InvalidAllocationID.NotFound...). AssociateAddress makes the
//     allocation fresh again: its association is not visible at once;
//   - DependencyViolation when deleting a security group that a live
//     instance still uses;
//   - ImportKeyPair refusing key types other than RSA and ED25519;
//   - FilterLimitExceeded for more than 200 values in one filter;
//   - InsufficientInstanceCapacity for the instance types a test refuses
//     (RefuseCapacity), on RunInstances and StartInstances;
//   - ModifyVolume: IncorrectModificationState while the previous
//     modification is being carried out (the first reads of
//     DescribeVolumesModifications say modifying, then optimizing), and
//     VolumeModificationRateExceeded for a second modification of the same
//     volume within 6 hours;
//   - IncorrectInstanceState for an instance type change on an instance
//     that is not stopped, and the transient InvalidParameterValue
//     ("LaunchPlan instance type does not match attribute value") of the
//     first StartInstances after a type change.
//
// Errors come in EC2's own XML format. It listens on 127.0.0.1 and forwards
// only to loopback. The zero configuration is the strict default; a test
// can loosen it (SetHiddenReads(0)).
type StrictEC2 struct {
	fwd *FaultProxy // used for its forwarding only; it does not listen
	ln  net.Listener
	srv *http.Server

	mu          sync.Mutex
	hiddenReads int
	now         func() time.Time
	fresh       map[string]int       // ID -> requests that will not see it yet
	refused     map[string]bool      // instance types without capacity
	modified    map[string]time.Time // volume ID -> start of its last modification
	modifying   map[string]int       // volume ID -> reads before the modification completes
	typeChanged map[string]bool      // instance ID -> its next start fails once
	answered    map[string]int       // strict error code -> times answered
	noDefault   bool                 // the region has no default VPC
}

// StrictOptions configure a StrictEC2.
type StrictOptions struct {
	// HiddenReads is how many requests naming a new ID do not see it
	// (default 1; negative for none).
	HiddenReads int
	// Now is the clock of the 6-hour volume rule (default time.Now).
	Now func() time.Time
}

// StartStrictEC2 starts a strict layer in front of target (moto's
// endpoint) for one test and closes it when the test ends.
func StartStrictEC2(t testing.TB, target string, opts StrictOptions) *StrictEC2 {
	t.Helper()
	s, err := NewStrictEC2(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewStrictEC2 starts a strict layer to target on a free port of 127.0.0.1.
func NewStrictEC2(target string, opts StrictOptions) (*StrictEC2, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("testworld: strict EC2 target: %v", err)
	}
	if err := motoCheckLoopback(u); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testworld: strict EC2: %v", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if opts.HiddenReads == 0 {
		opts.HiddenReads = 1
	}
	if opts.HiddenReads < 0 {
		opts.HiddenReads = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &StrictEC2{
		fwd: &FaultProxy{target: u, transport: tr}, ln: ln,
		hiddenReads: opts.HiddenReads, now: opts.Now,
		fresh: map[string]int{}, refused: map[string]bool{}, modified: map[string]time.Time{},
		modifying: map[string]int{}, typeChanged: map[string]bool{}, answered: map[string]int{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the layer's endpoint, http://127.0.0.1:PORT: give it to mlops as
// AWS_ENDPOINT_URL (or to a FaultProxy as its target).
func (s *StrictEC2) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the layer.
func (s *StrictEC2) Close() error {
	err := s.srv.Close()
	s.fwd.transport.CloseIdleConnections()
	return err
}

// SetHiddenReads changes how many requests naming a new ID do not see it,
// for the IDs created from now on (0: none).
func (s *StrictEC2) SetHiddenReads(n int) {
	s.mu.Lock()
	s.hiddenReads = max(n, 0)
	s.mu.Unlock()
}

// SetNow replaces the clock of the 6-hour volume rule.
func (s *StrictEC2) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// RefuseCapacity makes RunInstances and StartInstances of the instance
// type fail with InsufficientInstanceCapacity (until AllowCapacity).
func (s *StrictEC2) RefuseCapacity(instanceType string) {
	s.mu.Lock()
	s.refused[instanceType] = true
	s.mu.Unlock()
}

// RemoveDefaultVPC makes the region one without a default VPC: a
// RunInstances without a subnet and a CreateSecurityGroup without a VPC
// fail with VPCIdNotSpecified, as in an account whose default VPC was
// deleted.
func (s *StrictEC2) RemoveDefaultVPC() {
	s.mu.Lock()
	s.noDefault = true
	s.mu.Unlock()
}

// AllowCapacity undoes RefuseCapacity.
func (s *StrictEC2) AllowCapacity(instanceType string) {
	s.mu.Lock()
	delete(s.refused, instanceType)
	s.mu.Unlock()
}

// Answered returns how many times the layer answered the error code
// ("DependencyViolation", "InvalidGroup.NotFound"...), hidden filter reads
// counting as "<kind>.Hidden" ("sg.Hidden").
func (s *StrictEC2) Answered(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered[code]
}

// AnsweredAll returns a copy of all counts of Answered.
func (s *StrictEC2) AnsweredAll() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.answered {
		out[k] = v
	}
	return out
}

// strictError is an EC2 error the layer answers instead of forwarding.
type strictError struct {
	status        int
	code, message string
}

func (e *strictError) Error() string { return e.code + ": " + e.message }

func ec2Err(code, format string, args ...any) *strictError {
	return &strictError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler.
func (s *StrictEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action := proxyAction(r, body)
	var form url.Values
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ = url.ParseQuery(string(body))
	}
	if form == nil || form.Get("Action") == "" {
		s.pass(w, r, body, nil)
		return
	}
	if serr := s.check(r, action, form); serr != nil {
		s.answer(w, serr)
		return
	}
	// A hidden filter value was replaced in the form: send the new body.
	body = []byte(form.Encode())
	s.pass(w, r, body, func(status int, resp []byte) []byte {
		if status != http.StatusOK {
			return resp
		}
		return s.observe(action, form, resp)
	})
}

// pass forwards the request and delivers the answer, rewritten by edit.
func (s *StrictEC2) pass(w http.ResponseWriter, r *http.Request, body []byte, edit func(int, []byte) []byte) {
	resp, respBody, err := s.fwd.forward(r, body)
	if err != nil {
		http.Error(w, "testworld: strict EC2: "+err.Error(), http.StatusBadGateway)
		return
	}
	if edit != nil {
		respBody = edit(resp.StatusCode, respBody)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

func (s *StrictEC2) answer(w http.ResponseWriter, e *strictError) {
	s.mu.Lock()
	s.answered[e.code]++
	n := s.answered[e.code]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(e.message))
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>testworld-strict-%s-%d</RequestID></Response>`,
		e.code, msg.String(), e.code, n)
}

var filterValueKey = regexp.MustCompile(`^Filter\.(\d+)\.Value\.\d+$`)

// check applies the rules that refuse a request before moto sees it. It
// may rewrite form (hidden filter values).
func (s *StrictEC2) check(r *http.Request, action string, form url.Values) *strictError {
	perFilter := map[string]int{}
	for k := range form {
		if m := filterValueKey.FindStringSubmatch(k); m != nil {
			perFilter[m[1]]++
		}
	}
	for n, count := range perFilter {
		if count > 200 {
			return ec2Err("FilterLimitExceeded", "The maximum number of filter values specified on a single call is 200 (filter %s has %d).", form.Get("Filter."+n+".Name"), count)
		}
	}
	if e := s.consistency(action, form); e != nil {
		return e
	}
	s.mu.Lock()
	noDefault := s.noDefault
	s.mu.Unlock()
	if noDefault && ((action == "RunInstances" && form.Get("SubnetId") == "" && form.Get("NetworkInterface.1.SubnetId") == "") ||
		(action == "CreateSecurityGroup" && form.Get("VpcId") == "")) {
		return ec2Err("VPCIdNotSpecified", "No default VPC for this user")
	}
	switch action {
	case "ImportKeyPair":
		return checkKeyMaterial(form.Get("PublicKeyMaterial"))
	case "DeleteSecurityGroup":
		id := form.Get("GroupId")
		insts, err := s.instances(r)
		if err != nil {
			return &strictError{http.StatusInternalServerError, "InternalError", err.Error()}
		}
		for _, in := range insts {
			if in.live() && in.hasGroup(id) {
				return ec2Err("DependencyViolation", "resource %s has a dependent object", id)
			}
		}
	case "RunInstances":
		if e := s.capacity(form.Get("InstanceType"), form.Get("Placement.AvailabilityZone")); e != nil {
			return e
		}
	case "StartInstances":
		insts, err := s.instances(r)
		if err != nil {
			return &strictError{http.StatusInternalServerError, "InternalError", err.Error()}
		}
		for _, id := range listParam(form, "InstanceId") {
			in, ok := insts[id]
			if !ok {
				continue
			}
			if st := in.State.Name; st != "stopped" && st != "running" && st != "pending" {
				return ec2Err("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", id)
			}
			s.mu.Lock()
			changed := s.typeChanged[id]
			delete(s.typeChanged, id)
			s.mu.Unlock()
			if changed {
				return ec2Err("InvalidParameterValue", "LaunchPlan instance type does not match attribute value %s", in.Type)
			}
			if e := s.capacity(in.Type, in.AZ); e != nil {
				return e
			}
		}
	case "ModifyInstanceAttribute":
		id := form.Get("InstanceId")
		if form.Get("InstanceType.Value") != "" || form.Get("Attribute") == "instanceType" {
			insts, err := s.instances(r)
			if err != nil {
				return &strictError{http.StatusInternalServerError, "InternalError", err.Error()}
			}
			if in, ok := insts[id]; ok && in.State.Name != "stopped" {
				return ec2Err("IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", id)
			}
		}
	case "ModifyVolume":
		id := form.Get("VolumeId")
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.modifying[id] > 0 {
			return ec2Err("IncorrectModificationState", "Cannot modify volume %s as it is in modifying state", id)
		}
		if at, ok := s.modified[id]; ok && s.now().Sub(at) < 6*time.Hour {
			return ec2Err("VolumeModificationRateExceeded", "You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume.")
		}
	}
	return nil
}

// creates names the actions that create IDs (whose own requests name no
// fresh ID worth hiding).
var creates = map[string]bool{"CreateSecurityGroup": true, "AllocateAddress": true}

// consistency hides fresh IDs: a filter value naming one is replaced by an
// ID that matches nothing; any other parameter naming one is NotFound.
func (s *StrictEC2) consistency(action string, form url.Values) *strictError {
	if creates[action] {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fresh) == 0 {
		return nil
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := form[k]
		for i, v := range vals {
			if s.fresh[v] <= 0 {
				continue
			}
			s.fresh[v]--
			if s.fresh[v] == 0 {
				delete(s.fresh, v)
			}
			kind, _, _ := strings.Cut(v, "-")
			if filterValueKey.MatchString(k) {
				vals[i] = kind + "-00000000000000000"
				s.answered[kind+".Hidden"]++
				continue
			}
			code := map[string]string{
				"sg": "InvalidGroup.NotFound", "i": "InvalidInstanceID.NotFound",
				"eipalloc": "InvalidAllocationID.NotFound", "eipassoc": "InvalidAssociationID.NotFound",
				"vol": "InvalidVolume.NotFound",
			}[kind]
			if code == "" {
				code = "InvalidID.NotFound"
			}
			s.answered[code]++
			return &strictError{http.StatusBadRequest, code, fmt.Sprintf("The ID '%s' does not exist", v)}
		}
	}
	return nil
}

// capacity refuses an instance type the test has no capacity for.
func (s *StrictEC2) capacity(typ, az string) *strictError {
	s.mu.Lock()
	refused := s.refused[typ]
	s.mu.Unlock()
	if !refused {
		return nil
	}
	if az == "" {
		az = MotoRegion + "a"
	}
	return &strictError{http.StatusInternalServerError, "InsufficientInstanceCapacity",
		fmt.Sprintf("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity. You can currently get %s capacity by not specifying an Availability Zone in your request or choosing a different Availability Zone.", typ, az, typ)}
}

var (
	groupIDRe       = regexp.MustCompile(`<groupId>(sg-[0-9a-z]+)</groupId>`)
	allocationIDRe  = regexp.MustCompile(`<allocationId>(eipalloc-[0-9a-z]+)</allocationId>`)
	associationIDRe = regexp.MustCompile(`<associationId>(eipassoc-[0-9a-z]+)</associationId>`)
	instanceIDRe    = regexp.MustCompile(`<instanceId>(i-[0-9a-z]+)</instanceId>`)
	modStateRe      = regexp.MustCompile(`<modificationState>completed</modificationState>`)
	progressRe      = regexp.MustCompile(`<progress>100</progress>`)
)

// observe records what a successful answer created and rewrites answers
// that must show work in progress.
func (s *StrictEC2) observe(action string, form url.Values, resp []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	markAll := func(re *regexp.Regexp) {
		for _, m := range re.FindAllSubmatch(resp, -1) {
			if s.hiddenReads > 0 {
				s.fresh[string(m[1])] = s.hiddenReads
			}
		}
	}
	switch action {
	case "CreateSecurityGroup":
		markAll(groupIDRe)
	case "AllocateAddress":
		markAll(allocationIDRe)
	case "RunInstances":
		markAll(instanceIDRe)
	case "AssociateAddress":
		markAll(associationIDRe)
		if id := form.Get("AllocationId"); id != "" && s.hiddenReads > 0 {
			s.fresh[id] = s.hiddenReads
		}
	case "ModifyInstanceAttribute":
		if form.Get("InstanceType.Value") != "" || form.Get("Attribute") == "instanceType" {
			s.typeChanged[form.Get("InstanceId")] = true
		}
	case "ModifyVolume":
		id := form.Get("VolumeId")
		s.modified[id] = s.now()
		s.modifying[id] = 2
	case "DescribeVolumesModifications":
		ids := listParam(form, "VolumeId")
		for k, v := range form {
			if filterValueKey.MatchString(k) {
				ids = append(ids, v...)
			}
		}
		for _, id := range ids {
			n := s.modifying[id]
			if n <= 0 {
				continue
			}
			state, progress := "optimizing", "<progress>40</progress>"
			if n == 2 {
				state, progress = "modifying", "<progress>0</progress>"
			}
			s.modifying[id] = n - 1
			if n == 1 {
				delete(s.modifying, id)
			}
			resp = modStateRe.ReplaceAll(resp, []byte("<modificationState>"+state+"</modificationState>"))
			resp = progressRe.ReplaceAll(resp, []byte(progress))
		}
	}
	return resp
}

// checkKeyMaterial refuses what EC2's ImportKeyPair refuses: it imports
// only RSA and ED25519 keys.
func checkKeyMaterial(b64 string) *strictError {
	material, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		material = []byte(b64)
	}
	typ, _, _ := strings.Cut(strings.TrimSpace(string(material)), " ")
	switch typ {
	case "ssh-rsa", "ssh-ed25519":
		return nil
	}
	if strings.HasPrefix(string(material), "-----BEGIN") {
		return nil // PEM/DER RSA public keys are accepted too
	}
	return ec2Err("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
}

// listParam returns the values of a query-protocol list (Name.1, Name.2...).
func listParam(form url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[name+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// strictInstance is what the layer needs to know of an instance.
type strictInstance struct {
	ID    string `xml:"instanceId"`
	Type  string `xml:"instanceType"`
	State struct {
		Name string `xml:"name"`
	} `xml:"instanceState"`
	Groups []struct {
		ID string `xml:"groupId"`
	} `xml:"groupSet>item"`
	AZ string `xml:"placement>availabilityZone"`
}

func (i strictInstance) live() bool {
	return i.State.Name != "terminated" && i.State.Name != "shutting-down"
}

// hasGroup reports whether the instance uses the group. moto keeps an
// instance's groups (ModifyInstanceAttribute Groups changes them) apart
// from its interfaces' (which it leaves as launched), so the instance's
// own list is the truth here.
func (i strictInstance) hasGroup(id string) bool {
	for _, g := range i.Groups {
		if g.ID == id {
			return true
		}
	}
	return false
}

// instances asks moto for every instance of the account of r.
func (s *StrictEC2) instances(r *http.Request) (map[string]strictInstance, error) {
	form := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, s.fwd.target.String()+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a) // the same account
	}
	resp, err := s.fwd.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Reservations []struct {
			Instances []strictInstance `xml:"instancesSet>item"`
		} `xml:"reservationSet>item"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("testworld: strict EC2: reading moto's instances: %v", err)
	}
	out := map[string]strictInstance{}
	for _, res := range doc.Reservations {
		for _, in := range res.Instances {
			out[in.ID] = in
		}
	}
	return out, nil
}
