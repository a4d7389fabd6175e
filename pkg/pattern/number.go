package pattern

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// appendCanonicalNumber appends to dst a form of the JSON number raw that
// is equal for equal values, so that 5, 5.0, 50e-1 and 5e0 all give
// "5e0" and -0 gives "0". The form is the significant digits without
// leading or trailing zeros, then "e" and the power of ten of the last
// digit. raw must be a valid JSON number.
func appendCanonicalNumber(dst, raw []byte) []byte {
	mark := len(dst)
	if raw[0] == '-' {
		dst = append(dst, '-')
		raw = raw[1:]
	}

	// Collect the digits, with the power of ten of the last one.
	digitsStart := len(dst)
	exponent := int64(0)
	i := 0
	for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
		dst = appendDigit(dst, digitsStart, raw[i])
	}
	if i < len(raw) && raw[i] == '.' {
		for i++; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
			dst = appendDigit(dst, digitsStart, raw[i])
			exponent--
		}
	}
	if i < len(raw) {
		exponent += parseExponent(raw[i+1:])
	}

	// Zero has no sign; other numbers drop their trailing zeros.
	if len(dst) == digitsStart {
		return append(dst[:mark], '0')
	}
	for dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
		exponent++
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, exponent, 10)
}

// appendDigit appends d unless it would be a leading zero.
func appendDigit(dst []byte, digitsStart int, d byte) []byte {
	if d == '0' && len(dst) == digitsStart {
		return dst
	}
	return append(dst, d)
}

// parseExponent parses the exponent of a JSON number, after the 'e'. It
// saturates far beyond the range of float64, where equal texts still give
// equal results.
func parseExponent(raw []byte) int64 {
	negative := false
	switch raw[0] {
	case '-':
		negative = true
		raw = raw[1:]
	case '+':
		raw = raw[1:]
	}
	n := int64(0)
	for _, d := range raw {
		if n < 1<<40 {
			n = n*10 + int64(d-'0')
		}
	}
	if negative {
		return -n
	}
	return n
}

// parseAddr parses an IPv4 or IPv6 address without allocating.
func parseAddr(s []byte) (netip.Addr, bool) {
	if addr, ok := parseIPv4(s); ok {
		return netip.AddrFrom4(addr), true
	}
	if len(s) < 2 || len(s) > 64 || !isAddrText(s) {
		return netip.Addr{}, false
	}
	// unsafe.String avoids copying s: ParseAddr keeps its input only in
	// the error, which is dropped here, so no reference outlives the call.
	addr, err := netip.ParseAddr(unsafe.String(&s[0], len(s)))
	return addr, err == nil
}

func parseIPv4(s []byte) ([4]byte, bool) {
	var out [4]byte
	part, digits := 0, 0
	value := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && value == 0 {
				return out, false // leading zero, as netip.ParseAddr rejects
			}
			value = value*10 + int(c-'0')
			digits++
			if value > 255 {
				return out, false
			}
		case c == '.' && digits > 0 && part < 3:
			out[part] = byte(value)
			part, digits, value = part+1, 0, 0
		default:
			return out, false
		}
	}
	if part != 3 || digits == 0 {
		return out, false
	}
	out[3] = byte(value)
	return out, true
}

func isAddrText(s []byte) bool {
	for _, c := range s {
		hex := c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
		if !hex && c != ':' && c != '.' && c != '%' {
			return false
		}
	}
	return true
}
