package mailcheck

import "strings"

// wellKnown are brands phishing imitates most: their names as a sender
// or subject shows them, and the registrable domains their own mail comes
// from. Each domain is the one the brand's own website is served from
// and signs its mail with (checked against the brands' sites and their
// published DMARC records when the list was made); a brand's mail sent
// through a service under another domain still names the brand in its
// From address's domain, which is what is compared. Names are only
// distinctive ones: a word that is also ordinary ("Line", "Target",
// "Chase", "Apple" alone in a sentence) is not a claim, so short or common
// names appear with the word that makes them a brand ("Apple ID").
//
// Format: name|more names,…|domain domain …; a name starting with ~ is an
// ordinary word that does not claim the brand alone.
var wellKnown = []string{
	// Technology and mail
	"~Apple|Apple ID,Apple Support,iCloud,App Store,Apple Pay,iTunes|apple.com icloud.com me.com itunes.com",
	"Google|Gmail,Google Drive,Google Workspace,Google Account,Google Pay,YouTube,Google Play|google.com gmail.com youtube.com googlemail.com",
	"Amazon|Amazon.com,Amazon Prime,Prime Video,AWS,Amazon Web Services,アマゾン|amazon.com amazon.co.jp amazon.co.uk amazon.de amazon.fr amazon.es amazon.it amazon.ca amazon.com.br amazonaws.com amazonses.com primevideo.com",
	"~Meta|Meta Platforms,Facebook,Instagram,WhatsApp,Messenger,Meta Business,Meta Support|facebook.com facebookmail.com instagram.com whatsapp.com meta.com fb.com",
	"Yahoo|Yahoo Mail,Yahoo!,Yahoo Japan,ヤフー|yahoo.com yahoo.co.jp yahoo-net.jp ymail.com",
	"Adobe|Adobe Sign,Adobe Acrobat,Adobe Document Cloud|adobe.com adobesign.com",
	"DocuSign|Docusign|docusign.com docusign.net",
	"Dropbox|Dropbox Sign|dropbox.com dropboxmail.com",
	"LinkedIn||linkedin.com",
	"X (Twitter)|Twitter|twitter.com x.com",
	"Zoom Video|Zoom Meetings,Zoom Support|zoom.us zoom.com",
	"~Slack|Slack Technologies,Slack Support|slack.com",
	"Salesforce||salesforce.com",
	"WeTransfer||wetransfer.com",
	"~Norton|NortonLifeLock,Norton 360,Norton Security|norton.com nortonlifelock.com gen.digital",
	"McAfee||mcafee.com",
	"Avast||avast.com",
	"Kaspersky||kaspersky.com",
	"GoDaddy||godaddy.com",
	"Namecheap||namecheap.com",
	"Netflix||netflix.com",
	"Spotify||spotify.com",
	"Disney+|Disney Plus|disneyplus.com disney.com",
	"Steam Support|Steam Community,Steam Guard|steampowered.com steamcommunity.com valvesoftware.com",
	"PlayStation|PlayStation Network,Sony PlayStation|playstation.com sony.com",
	"Nintendo||nintendo.com nintendo.co.jp nintendo.net",
	"Epic Games|Fortnite|epicgames.com",
	"Roblox||roblox.com",
	"~Discord|Discord Nitro,Discord Support|discord.com discordapp.com",
	"~Telegram|Telegram Support,Telegram Messenger|telegram.org",
	"TikTok||tiktok.com",
	"Snapchat||snapchat.com",
	"Booking.com||booking.com",
	"Airbnb||airbnb.com",
	"Expedia||expedia.com",
	"Uber|Uber Eats|uber.com",
	"Samsung|Samsung Account|samsung.com",
	// Payments and cards
	"PayPal||paypal.com paypal.co.uk paypal.de paypal.jp",
	"Stripe||stripe.com",
	"Visa Card|Verified by Visa,Visa Secure|visa.com visa.co.jp",
	"Mastercard|MasterCard,Mastercard®|mastercard.com mastercard.us",
	"American Express|Amex|americanexpress.com aexp.com americanexpress.co.jp",
	"Discover Card|Discover Bank|discover.com",
	"Venmo||venmo.com",
	"Cash App|CashApp|cash.app squareup.com",
	"Zelle||zellepay.com",
	"TransferWise|Wise Payments|wise.com",
	"Revolut||revolut.com",
	"Klarna||klarna.com",
	"Western Union||westernunion.com wu.com",
	"MoneyGram||moneygram.com",
	"Payoneer||payoneer.com",
	"Skrill||skrill.com",
	"Mercado Pago|Mercado Livre,Mercado Libre|mercadopago.com mercadopago.com.br mercadolivre.com.br mercadolibre.com",
	"PicPay||picpay.com",
	"Nubank||nubank.com.br",
	// Banks
	"Bank of America||bankofamerica.com bofa.com",
	"Wells Fargo||wellsfargo.com",
	"JPMorgan Chase|Chase Bank,Chase Online,JPMorgan|chase.com jpmorgan.com jpmorganchase.com",
	"Citibank|Citi Bank,Citigroup|citi.com citibank.com",
	"Capital One||capitalone.com",
	"U.S. Bank|US Bank|usbank.com",
	"HSBC||hsbc.com hsbc.co.uk",
	"Barclays||barclays.co.uk barclays.com",
	"Lloyds Bank||lloydsbank.com lloydsbank.co.uk",
	"NatWest||natwest.com",
	"Santander|Banco Santander|santander.com santander.co.uk santander.com.br santander.es",
	"BBVA||bbva.com bbva.es bbva.mx",
	"CaixaBank|La Caixa|caixabank.com caixabank.es",
	"Banco do Brasil||bb.com.br",
	"Caixa Econômica|Caixa Economica Federal|caixa.gov.br",
	"Itaú|Itau|itau.com.br",
	"Bradesco||bradesco.com.br",
	"~ING|ING Bank,ING-DiBa|ing.com ing.de ing.nl ing.es",
	"Deutsche Bank||db.com deutsche-bank.de",
	"Commerzbank||commerzbank.de",
	"Sparkasse|Sparkassen|sparkasse.de",
	"Volksbank|Volksbanken Raiffeisenbanken|vr.de volksbank.de",
	"Postbank||postbank.de",
	"BNP Paribas||bnpparibas.com bnpparibas.fr",
	"Crédit Agricole|Credit Agricole|credit-agricole.fr credit-agricole.com",
	"Société Générale|Societe Generale|societegenerale.fr societegenerale.com",
	"La Banque Postale||labanquepostale.fr",
	"Rabobank||rabobank.nl rabobank.com",
	"ABN AMRO||abnamro.nl abnamro.com",
	"UniCredit||unicredit.it unicredit.eu",
	"Intesa Sanpaolo||intesasanpaolo.com",
	"RBC|Royal Bank of Canada|rbc.com rbcroyalbank.com",
	"TD Bank|TD Canada Trust|td.com tdbank.com",
	"Scotiabank||scotiabank.com",
	"Commonwealth Bank|CommBank|commbank.com.au",
	"三菱UFJ銀行|MUFG,三菱UFJ|mufg.jp bk.mufg.jp",
	"三井住友銀行|SMBC,三井住友カード|smbc.co.jp smbc-card.com",
	"みずほ銀行|Mizuho,みずほ|mizuhobank.co.jp mizuho-fg.co.jp",
	"りそな銀行|Resona,りそな|resonabank.co.jp resona-gr.co.jp",
	"ゆうちょ銀行|Japan Post Bank,ゆうちょ|jp-bank.japanpost.jp japanpost.jp",
	"楽天|Rakuten,楽天カード,楽天市場,楽天銀行|rakuten.co.jp rakuten.com rakuten-card.co.jp rakuten-bank.co.jp",
	"PayPay|PayPay銀行|paypay.ne.jp paypay-bank.co.jp",
	"JCB|JCBカード|jcb.co.jp jcb.jp",
	"イオン|AEON,イオンカード|aeon.co.jp aeon.com",
	"セゾン|Saison,セゾンカード|saisoncard.co.jp",
	"エポスカード|EPOS|eposcard.co.jp",
	"ViewCard|ビューカード|viewsnet.jp",
	"三井住友信託銀行|Sumitomo Mitsui Trust|smtb.jp",
	// Crypto
	"Coinbase||coinbase.com",
	"Binance||binance.com",
	"~Kraken|Kraken Exchange,Kraken Support|kraken.com",
	"Gemini Exchange|Gemini Trust,Gemini Customer Service|gemini.com",
	"Crypto.com||crypto.com",
	"Ledger|Ledger Live,Ledger Nano|ledger.com",
	"Trezor||trezor.io",
	"MetaMask||metamask.io consensys.io consensys.net",
	"Trust Wallet||trustwallet.com",
	"Exodus Wallet||exodus.com",
	"Phantom Wallet||phantom.app",
	"Blockchain.com||blockchain.com",
	"OpenSea||opensea.io",
	"Ripple Labs||ripple.com",
	"FTX|FTX Team,FTXTeam|ftx.com",
	"bitFlyer|ビットフライヤー|bitflyer.com",
	"Coincheck|コインチェック|coincheck.com",
	// Delivery and post
	"DHL|DHL Express|dhl.com dhl.de dhl.co.jp",
	"FedEx|Fedex entrega|fedex.com",
	"UPS|UPS My Choice|ups.com",
	"USPS|United States Postal Service|usps.com usps.gov",
	"Royal Mail||royalmail.com",
	"Correios|Correios S.A|correios.com.br",
	"Deutsche Post||deutschepost.de",
	"La Poste|Colissimo|laposte.fr laposte.net colissimo.fr",
	"PostNL||postnl.nl",
	"Canada Post|Postes Canada|canadapost.ca canadapost-postescanada.ca",
	"Australia Post|AusPost|auspost.com.au",
	"Evri|Hermes Parcelnet|evri.com",
	"GLS||gls-group.eu gls-group.com",
	"DPD||dpd.com dpd.de dpd.co.uk",
	"Poste Italiane||poste.it posteitaliane.it",
	"Correos||correos.es",
	"日本郵便|Japan Post,ゆうパック|post.japanpost.jp japanpost.jp",
	"ヤマト運輸|Yamato Transport,クロネコヤマト|kuronekoyamato.co.jp yamato-hd.co.jp",
	"佐川急便|Sagawa|sagawa-exp.co.jp",
	// Retail
	"Walmart||walmart.com",
	"Costco||costco.com costco.co.jp",
	"Best Buy||bestbuy.com",
	"Target Store|Target Circle|target.com",
	"Home Depot|The Home Depot|homedepot.com",
	"Lowe's|Lowes|lowes.com",
	"eBay||ebay.com ebay.co.uk ebay.de",
	"AliExpress|Alibaba|aliexpress.com alibaba.com",
	"Temu||temu.com",
	"Shein||shein.com",
	"Etsy||etsy.com",
	"IKEA||ikea.com",
	"Zalando||zalando.com zalando.de zalando.es zalando.fr zalando.co.uk",
	"Carrefour||carrefour.com carrefour.fr carrefour.es carrefour.com.br",
	"Lidl||lidl.com lidl.de lidl.fr lidl.es",
	"Aldi||aldi.com aldi.de aldi.us",
	"Tesco||tesco.com",
	"Sephora||sephora.com sephora.fr",
	"メルカリ|Mercari|mercari.com mercari.jp",
	"ヨドバシ|Yodobashi|yodobashi.com",
	"ユニクロ|UNIQLO|uniqlo.com",
	// Telecom
	"AT&T||att.com att.net",
	"Verizon||verizon.com verizonwireless.com",
	"T-Mobile||t-mobile.com",
	"Vodafone||vodafone.com vodafone.co.uk vodafone.de",
	"Telekom|Deutsche Telekom|telekom.de telekom.com t-online.de",
	"Orange Telecom|Orange Business|orange.fr orange.com",
	"Movistar|Telefónica,Telefonica|movistar.es telefonica.com",
	"NTTドコモ|docomo,ドコモ|docomo.ne.jp nttdocomo.co.jp",
	"au by KDDI|KDDI,auじぶん銀行|kddi.com au.com",
	"ソフトバンク|SoftBank|softbank.jp softbank.ne.jp",
	"NTT東日本|NTT西日本,フレッツ|ntt-east.co.jp ntt-west.co.jp",
	"Comcast|Xfinity|comcast.net xfinity.com comcast.com",
	// Government and tax
	"IRS|Internal Revenue Service|irs.gov",
	"HMRC|HM Revenue|hmrc.gov.uk gov.uk",
	"Social Security Administration||ssa.gov",
	"国税庁|e-Tax|nta.go.jp e-tax.nta.go.jp",
	"マイナポータル||myna.go.jp",
	"日本年金機構||nenkin.go.jp",
	"ETC利用照会|ETCサービス,ETCマイレージ|etc-meisai.jp smile-etc.jp",
	"Receita Federal||gov.br",
	"Agencia Tributaria||agenciatributaria.gob.es",
	"Impots.gouv|DGFiP|impots.gouv.fr",
	"Ameli|Assurance Maladie|ameli.fr",
	"ANTAI||antai.gouv.fr",
	// Travel
	"Delta Air Lines|Delta SkyMiles|delta.com",
	"United Airlines|MileagePlus|united.com",
	"American Airlines|AAdvantage|aa.com",
	"Lufthansa|Miles & More|lufthansa.com miles-and-more.com",
	"Air France|Flying Blue|airfrance.com airfrance.fr",
	"British Airways||britishairways.com ba.com",
	"~Emirates|Emirates Airline,Emirates Skywards|emirates.com",
	"~ANA|全日空,ANAマイレージクラブ|ana.co.jp",
	"JAL|日本航空,JALマイレージバンク|jal.co.jp jal.com",
	"えきねっと|JR東日本,Eki-net|eki-net.com jreast.co.jp",
}

// WellKnown is the built-in list of brands phishing imitates most, with
// their own domains; Microsoft's fuller profile is Microsoft().
func WellKnown() []Brand {
	out := make([]Brand, 0, len(wellKnown)+1)
	out = append(out, Microsoft())
	for _, line := range wellKnown {
		parts := strings.SplitN(line, "|", 3)
		// "~Name": the name alone is an ordinary word; only the other
		// names claim the brand.
		name, ordinary := strings.CutPrefix(parts[0], "~")
		b := Brand{Name: name, Domains: strings.Fields(parts[2]), Strict: true}
		if !ordinary {
			b.Names = append(b.Names, name)
		}
		for _, n := range strings.Split(parts[1], ",") {
			if n = strings.TrimSpace(n); n != "" {
				b.Names = append(b.Names, n)
			}
		}
		out = append(out, b)
	}
	return out
}
