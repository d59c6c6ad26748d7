package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mlops-dev/mlops/prices"
)

// Status is what mlops status shows: every machine of the stack.
type Status struct {
	Region      string          `json:"region"`
	PriceDate   string          `json:"price_date"`
	PriceSource string          `json:"price_source"`
	Machines    []MachineStatus `json:"machines"`
	// Hourly sums the running machines' $/h; StoppedMonthly the disks and
	// addresses of all of them per month while stopped.
	Hourly         float64 `json:"hourly_running"`
	StoppedMonthly float64 `json:"monthly_while_stopped"`
	Running        int     `json:"running"`
}

// MachineStatus is one machine in the status view.
type MachineStatus struct {
	Address    string `json:"address"`
	State      string `json:"state"`
	Type       string `json:"instance_type,omitempty"`
	PublicIP   string `json:"public_ip,omitempty"`
	Alias      string `json:"ssh_alias,omitempty"`
	StopReason string `json:"stop_reason,omitempty"`
	// RunningSince is EC2's LaunchTime (the last start) of a running machine.
	RunningSince   time.Time     `json:"running_since,omitzero"`
	RunningFor     time.Duration `json:"-"`
	Hourly         float64       `json:"hourly_while_running"`
	CostSinceStart float64       `json:"cost_since_start"`
	StoppedMonthly float64       `json:"monthly_while_stopped"`
	PriceUnknown   []string      `json:"price_unknown,omitempty"`
	// Agent is the idle_stop agent's last decision.
	Agent string `json:"idle_agent,omitempty"`
	// AgentLog are the agent's last log lines (its last decisions).
	AgentLog         []string `json:"idle_agent_log,omitempty"`
	LayersToConverge []string `json:"layers_to_converge,omitempty"`
	Problems         []string `json:"problems,omitempty"`
}

// RenderStatus writes the status for people.
func RenderStatus(w io.Writer, s *Streams, st *Status) {
	lw := &lineWriter{streams: s}
	if len(st.Machines) == 0 {
		lw.line("No machines: the state records no instance.")
		io.WriteString(w, lw.b.String())
		return
	}
	for i, m := range st.Machines {
		if i > 0 {
			lw.line("")
		}
		head := []string{s.color(bold, m.Address), m.State}
		for _, x := range []string{m.Type, m.PublicIP} {
			if x != "" {
				head = append(head, x)
			}
		}
		if m.Alias != "" {
			head = append(head, "ssh "+m.Alias)
		}
		lw.line("%s", strings.Join(head, "  "))
		switch {
		case m.State == "running" && m.Hourly == 0 && len(m.PriceUnknown) > 0:
			// A price the table lacks is unknown, not free.
			lw.line("    running since %s (%s): price unknown",
				m.RunningSince.Format("2006-01-02 15:04 MST"), hoursMinutes(m.RunningFor))
		case m.State == "running" && !m.RunningSince.IsZero():
			lw.line("    running since %s (%s): %s/h, about %s since then",
				m.RunningSince.Format("2006-01-02 15:04 MST"), hoursMinutes(m.RunningFor), prices.Dollars(m.Hourly), prices.Monthly(m.CostSinceStart))
		case m.State == "running":
			lw.line("    running: %s/h", prices.Dollars(m.Hourly))
		case m.State == "gone":
			lw.line("    it no longer exists in the cloud")
		default:
			if m.StopReason != "" {
				lw.line("    %s", m.StopReason)
			}
			lw.line("    %s/month while stopped (%s/h when it runs)", prices.Monthly(m.StoppedMonthly), prices.Dollars(m.Hourly))
		}
		for _, u := range m.PriceUnknown {
			lw.line("    # %s", u)
		}
		if m.Agent != "" {
			lw.line("    idle agent: %s", m.Agent)
			for _, l := range m.AgentLog {
				lw.line("      %s", l)
			}
		}
		if len(m.LayersToConverge) > 0 {
			lw.line("    layers to converge: %s (mlops plan says why)", strings.Join(m.LayersToConverge, ", "))
		}
		for _, p := range m.Problems {
			lw.line("    %s", s.color(yellow, "! "+p))
		}
	}
	lw.line("")
	lw.line("Total: %s/h for %d running %s; %s/month while stopped (AWS on-demand prices of %s)",
		prices.Dollars(st.Hourly), st.Running, plural(st.Running, "machine", "machines"), prices.Monthly(st.StoppedMonthly), st.PriceDate)
	io.WriteString(w, lw.b.String())
}

func hoursMinutes(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}

// RenderStatusJSON writes the status as one JSON document.
func RenderStatusJSON(w io.Writer, st *Status) error {
	out := *st
	out.Machines = make([]MachineStatus, len(st.Machines))
	for i, m := range st.Machines {
		m.Hourly, m.CostSinceStart, m.StoppedMonthly = roundUSD(m.Hourly), roundUSD(m.CostSinceStart), roundUSD(m.StoppedMonthly)
		out.Machines[i] = m
	}
	out.Hourly, out.StoppedMonthly = roundUSD(st.Hourly), roundUSD(st.StoppedMonthly)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		FormatVersion string `json:"format_version"`
		*Status
	}{"1", &out})
}
