package flow

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/store"
)

// Aliases: a private sign-in name, and turning off sign-in by the public
// address.

var aliasWords = []string{"amber", "birch", "cedar", "dawn", "ember", "fern", "grove", "harbor", "iris", "juniper", "kelp", "lark",
	"maple", "north", "opal", "pine", "quartz", "river", "sage", "tide", "umber", "vale", "willow", "yarrow", "zephyr"}

func newAlias() string {
	pick := func(n int64) int64 { v, _ := rand.Int(rand.Reader, big.NewInt(n)); return v.Int64() }
	return fmt.Sprintf("%s-%s-%04d", aliasWords[pick(int64(len(aliasWords)))], aliasWords[pick(int64(len(aliasWords)))], pick(10000))
}

// Alias is an account's private sign-in name and whether only it works.
type Alias struct {
	Alias     string
	AliasOnly bool
}

// SetAliasOnly turns sign-in by the public email address off (on = true)
// or back on. Turning it off makes an alias if there is none: requests
// naming the public address then send nothing and reveal nothing.
func (s *Service) SetAliasOnly(ctx context.Context, c Client, sess store.Session, on bool) (Alias, error) {
	now := s.Now().UTC()
	// How the account is signed in to is security info: a stolen, idle
	// session must not change it.
	if err := s.needFresh(ctx, sess, now); err != nil {
		return Alias{}, err
	}
	var out Alias
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		a, err := q.AccountByID(ctx, sess.AccountID)
		if err != nil {
			return err
		}
		alias := a.Alias
		if alias == "" {
			alias = newAlias()
		}
		if err := q.SetAccountAlias(ctx, a.ID, alias, on); err != nil {
			return err
		}
		out = Alias{Alias: alias, AliasOnly: on}
		return activity.Record(ctx, q, now, store.Event{AccountID: a.ID, Kind: activity.AliasChanged, Result: activity.Success,
			IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{aliasReason(on)}})
	})
	if errors.Is(err, store.ErrConflict) {
		return Alias{}, invalid("input_alias_taken")
	}
	return out, err
}

// AliasOf reads an account's alias setting.
func (s *Service) AliasOf(ctx context.Context, sess store.Session) (Alias, error) {
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	return Alias{Alias: a.Alias, AliasOnly: a.AliasOnly}, err
}

// aliasPattern is exactly the shape newAlias makes (word-word-0000): any
// other identifier without an @ is a mistyped address, refused as one,
// not looked up as an alias and answered "code sent".
var aliasPattern = regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9]{4}$`)

// AliasOnlyOn and AliasOnlyOff are the reason of an alias_changed event:
// sign-in by the public address turned off, or back on.
const (
	AliasOnlyOn  = "alias_only_on"
	AliasOnlyOff = "alias_only_off"
)

func aliasReason(on bool) string {
	if on {
		return AliasOnlyOn
	}
	return AliasOnlyOff
}

// isAlias tells an alias (lower case) from an email address.
func isAlias(identifier string) bool { return aliasPattern.MatchString(identifier) }
