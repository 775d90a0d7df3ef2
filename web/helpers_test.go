package web_test

import "github.com/wardhq/ward/account"

func accountFor(email string) account.NewAccount {
	return account.NewAccount{Email: email, Language: "en"}
}
