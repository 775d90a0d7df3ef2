package risk

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/oschwald/geoip2-golang/v2"
)

// Place is where an IP address approximately is. The zero Place is
// "unknown": no database, or an address it does not list.
type Place struct {
	Country     string // ISO code
	CountryName [2]string
	City        [2]string // [en, ja]
	Lat, Lon    float64
	HasLocation bool
	ASN         uint
	Org         string
}

// Known reports whether anything is known about the place.
func (p Place) Known() bool { return p.Country != "" || p.ASN != 0 }

// Name is the place as a person reads it in lang: "Tokyo, Japan".
func (p Place) Name(lang string) string {
	i := 0
	if lang == "ja" {
		i = 1
	}
	pick := func(n [2]string) string {
		if n[i] != "" {
			return n[i]
		}
		return n[0]
	}
	city, country := pick(p.City), pick(p.CountryName)
	if country == "" {
		country = p.Country
	}
	switch {
	case city != "" && country != "":
		if lang == "ja" {
			return country + " " + city
		}
		return city + ", " + country
	case country != "":
		return country
	}
	return ""
}

// Short names the place briefly for reasons: the city, else the country code.
func (p Place) Short() string {
	if p.City[0] != "" {
		return p.City[0]
	}
	return p.Country
}

// Geo looks up places in MaxMind-format databases (GeoLite2/GeoIP2 City
// and ASN). A nil *Geo knows nothing, and every signal that needs no
// place still works.
type Geo struct {
	city, asn *geoip2.Reader
}

// OpenGeo opens the databases at the given paths; either may be empty.
func OpenGeo(cityPath, asnPath string) (*Geo, error) {
	if cityPath == "" && asnPath == "" {
		return nil, nil
	}
	g := &Geo{}
	var err error
	if cityPath != "" {
		if g.city, err = geoip2.Open(cityPath); err != nil {
			return nil, fmt.Errorf("opening the city database %s: %w", cityPath, err)
		}
	}
	if asnPath != "" {
		if g.asn, err = geoip2.Open(asnPath); err != nil {
			return nil, fmt.Errorf("opening the ASN database %s: %w", asnPath, err)
		}
	}
	return g, nil
}

// GeoFromBytes reads databases held in memory.
func GeoFromBytes(city, asn []byte) (*Geo, error) {
	g := &Geo{}
	var err error
	if city != nil {
		if g.city, err = geoip2.OpenBytes(city); err != nil {
			return nil, fmt.Errorf("reading the city database: %w", err)
		}
	}
	if asn != nil {
		if g.asn, err = geoip2.OpenBytes(asn); err != nil {
			return nil, fmt.Errorf("reading the ASN database: %w", err)
		}
	}
	return g, nil
}

// Lookup finds ip's place; unknown when it cannot tell.
func (g *Geo) Lookup(ip string) Place {
	var p Place
	addr, err := netip.ParseAddr(ip)
	if g == nil || err != nil {
		return p
	}
	addr = addr.Unmap()
	if g.city != nil {
		if c, err := g.city.City(addr); err == nil && c != nil {
			p.Country = c.Country.ISOCode
			p.CountryName = [2]string{c.Country.Names.English, c.Country.Names.Japanese}
			p.City = [2]string{c.City.Names.English, c.City.Names.Japanese}
			if c.Location.HasCoordinates() {
				p.Lat, p.Lon, p.HasLocation = *c.Location.Latitude, *c.Location.Longitude, true
			}
		}
	}
	if g.asn != nil {
		if a, err := g.asn.ASN(addr); err == nil && a != nil {
			p.ASN, p.Org = a.AutonomousSystemNumber, a.AutonomousSystemOrganization
		}
	}
	return p
}

// Describe names ip's place in lang, "" when unknown. Mails and pages use it.
func (g *Geo) Describe(ip, lang string) string { return g.Lookup(ip).Name(lang) }

// Close closes the databases (a nil Geo has none).
func (g *Geo) Close() error {
	if g == nil {
		return nil
	}
	var err error
	for _, r := range []*geoip2.Reader{g.city, g.asn} {
		if r != nil {
			err = errors.Join(err, r.Close())
		}
	}
	return err
}
