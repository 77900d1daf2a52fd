package caspio

// parseHTTPDate reads an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form RFC 9110
// requires senders to use, without package time.
func parseHTTPDate(s string) (UnixMilli, bool) {
	// "Sun, 06 Nov 1994 08:49:37 GMT"
	if len(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25:] != " GMT" {
		return 0, false
	}
	day, ok1 := digits(s[5:7])
	year, ok2 := digits(s[12:16])
	hour, ok3 := digits(s[17:19])
	minute, ok4 := digits(s[20:22])
	second, ok5 := digits(s[23:25])
	month := index("JanFebMarAprMayJunJulAugSepOctNovDec", s[8:11])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 0 || month%3 != 0 ||
		day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 {
		return 0, false
	}
	days := daysFromCivil(year, month/3+1, day)
	secs := days*86400 + int64(hour)*3600 + int64(minute)*60 + int64(second)
	return UnixMilli(secs * 1000), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysFromCivil counts days from 1970-01-01 to the given proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
