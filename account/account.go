// Package account creates and changes accounts: addresses normalised and
// validated, passwords checked and hashed with argon2id.
package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/confusable"
	"github.com/wardhq/ward/store"
)

// ErrExists is returned when the email already names an account.
var ErrExists = errors.New("an account with this email already exists")

// Languages ward speaks.
var Languages = []string{"ja", "en"}

// NewAccount is what creating an account takes.
type NewAccount struct {
	Email    string
	Phone    string
	Password string
	Language string
}

// Service manages accounts.
type Service struct {
	Store     store.Store
	Passwords *Passwords
	Now       func() time.Time
}

// Create validates na and stores the account with its primary email as a
// verified contact: the operator or integrating app vouches for it.
func (s *Service) Create(ctx context.Context, na NewAccount) (store.Account, error) {
	email, err := NormalizeEmail(na.Email)
	if err != nil {
		return store.Account{}, err
	}
	phone := ""
	if na.Phone != "" {
		if phone, err = NormalizePhone(na.Phone); err != nil {
			return store.Account{}, err
		}
	}
	lang := na.Language
	if lang == "" {
		lang = "en"
	}
	if !ValidLanguage(lang) {
		return store.Account{}, inputErr("language", "input_language")
	}
	hash := ""
	if na.Password != "" {
		if err := s.Passwords.Check(na.Password, email); err != nil {
			return store.Account{}, err
		}
		if hash, err = s.Passwords.Hash(ctx, na.Password); err != nil {
			return store.Account{}, err
		}
	}
	now := s.Now().UTC()
	a := store.Account{ID: store.NewID(), Email: email, Phone: phone, PasswordHash: hash, Language: lang, CreatedAt: now,
		Skeleton: confusable.Address(email)}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		// Checking for a lookalike and creating are one step.
		if err := q.Lock(ctx, "account-skeleton:"+a.Skeleton); err != nil {
			return err
		}
		other, err := q.AccountBySkeleton(ctx, a.Skeleton)
		switch {
		case err == nil && other.Email == email:
			return store.ErrConflict
		case err == nil:
			return inputErr("email", "input_email_lookalike", other.Email)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := q.CreateAccount(ctx, a); err != nil {
			return err
		}
		if err := q.CreateContact(ctx, store.Contact{ID: store.NewID(), AccountID: a.ID, Kind: store.ContactEmail, Value: email,
			Primary: true, VerifiedAt: &now, CreatedAt: now}); err != nil {
			return err
		}
		if phone != "" {
			return q.CreateContact(ctx, store.Contact{ID: store.NewID(), AccountID: a.ID, Kind: store.ContactPhone, Value: phone,
				VerifiedAt: &now, CreatedAt: now})
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Account{}, ErrExists
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("creating account: %w", err)
	}
	return a, nil
}

// AddContact adds a recovery contact. verified is set when the caller has
// proven the person controls it (a code was confirmed, or the operator says so).
func (s *Service) AddContact(ctx context.Context, accountID, kind, value string, verified bool) (store.Contact, error) {
	var err error
	switch kind {
	case store.ContactEmail:
		value, err = NormalizeEmail(value)
	case store.ContactPhone:
		value, err = NormalizePhone(value)
	default:
		err = inputErr("kind", "input_contact_kind")
	}
	if err != nil {
		return store.Contact{}, err
	}
	now := s.Now().UTC()
	c := store.Contact{ID: store.NewID(), AccountID: accountID, Kind: kind, Value: value, CreatedAt: now}
	if verified {
		c.VerifiedAt = &now
	}
	if err := s.Store.CreateContact(ctx, c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return c, inputErr(kind, "input_contact_exists")
		}
		return c, err
	}
	return c, nil
}

// ValidLanguage reports whether ward speaks lang.
func ValidLanguage(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// Find looks an account up by email as typed or by ID.
func (s *Service) Find(ctx context.Context, emailOrID string) (store.Account, error) {
	if email, err := NormalizeEmail(emailOrID); err == nil {
		return s.Store.AccountByEmail(ctx, email)
	}
	return s.Store.AccountByID(ctx, emailOrID)
}

// SetDisabled disables or enables an account. Disabling signs out every session.
func (s *Service) SetDisabled(ctx context.Context, id string, disabled bool) error {
	now := s.Now().UTC()
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if !disabled {
			return q.SetAccountDisabled(ctx, id, nil)
		}
		if err := q.SetAccountDisabled(ctx, id, &now); err != nil {
			return err
		}
		_, err := q.RevokeOtherSessions(ctx, id, "", now)
		return err
	})
}
