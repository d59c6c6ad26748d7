// Package prices estimates what a machine costs from an embedded, dated
// table of AWS on-demand prices (aws.txt). It knows nothing about plans or
// HCL: it is given resource values and answers in US dollars. A type or
// region the table does not list has an unknown price, never an error.
package prices

import (
	"bufio"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

//go:embed aws.txt
var awsTable string

// HoursPerMonth is how AWS turns monthly prices into hourly ones (365 days * 24 / 12).
const HoursPerMonth = 730

// Table is a price table.
type Table struct {
	// Date is when the prices were read ("2024-06-01"), Source where from.
	Date   string
	Source string
	// IPv4Hourly is the charge per public IPv4 address and hour.
	IPv4Hourly float64

	instances map[string]map[string]float64 // region -> type -> $/h
	volumes   map[string]map[string]float64 // region -> volume type -> $/GB-month
}

// AWS returns the embedded AWS table, parsed once.
var AWS = sync.OnceValue(func() *Table {
	t, err := Parse(awsTable)
	if err != nil {
		// The embedded table is checked by its test; a broken one is a bug.
		panic("prices: the embedded table is invalid: " + err.Error())
	}
	return t
})

// Parse reads a table in the format of aws.txt.
func Parse(text string) (*Table, error) {
	t := &Table{instances: map[string]map[string]float64{}, volumes: map[string]map[string]float64{}}
	var sources []string
	inSource := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if c, ok := strings.CutPrefix(line, "#"); ok {
			c = strings.TrimSpace(c)
			switch {
			case strings.HasPrefix(c, "source:"):
				sources = append(sources, strings.TrimSpace(strings.TrimPrefix(c, "source:")))
				inSource = true
			case strings.HasPrefix(c, "date:"):
				t.Date = strings.TrimSpace(strings.TrimPrefix(c, "date:"))
				inSource = false
			case inSource && c != "":
				sources = append(sources, c)
			default:
				inSource = false
			}
			continue
		}
		inSource = false
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		num := func(s string) (float64, error) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("line %d: %q is not a price", n, s)
			}
			return v, nil
		}
		switch {
		case f[0] == "ipv4" && len(f) == 2:
			v, err := num(f[1])
			if err != nil {
				return nil, err
			}
			t.IPv4Hourly = v
		case (f[0] == "instance" || f[0] == "volume") && len(f) == 4:
			v, err := num(f[3])
			if err != nil {
				return nil, err
			}
			m := t.instances
			if f[0] == "volume" {
				m = t.volumes
			}
			if m[f[1]] == nil {
				m[f[1]] = map[string]float64{}
			}
			m[f[1]][f[2]] = v
		case f[0] == "same" && len(f) == 3:
			// "same REGION OTHER": REGION has OTHER's prices (listed above).
			if t.instances[f[2]] == nil {
				return nil, fmt.Errorf("line %d: region %s is not listed above", n, f[2])
			}
			t.instances[f[1]], t.volumes[f[1]] = t.instances[f[2]], t.volumes[f[2]]
		default:
			return nil, fmt.Errorf("line %d: cannot read %q", n, line)
		}
	}
	t.Source = strings.Join(sources, " ")
	if t.Date == "" {
		return nil, fmt.Errorf("the table has no date")
	}
	return t, sc.Err()
}

// InstanceHourly is the on-demand price of an instance type in a region.
func (t *Table) InstanceHourly(region, typ string) (float64, bool) {
	v, ok := t.instances[region][typ]
	return v, ok
}

// VolumeMonthly is the price of gb GiB of EBS storage of a type in a region.
func (t *Table) VolumeMonthly(region, volType string, gb int64) (float64, bool) {
	v, ok := t.volumes[region][volType]
	return v * float64(gb), ok
}

// Dollars formats an hourly price: "$0.2102" (4 decimals below $10, else 2).
func Dollars(v float64) string {
	if v == 0 {
		return "$0"
	}
	if v >= 10 {
		return "$" + strconv.FormatFloat(v, 'f', 2, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 4, 64)
}

// Monthly formats a monthly amount: "$2.64".
func Monthly(v float64) string {
	if v == 0 {
		return "$0"
	}
	return "$" + strconv.FormatFloat(v, 'f', 2, 64)
}
