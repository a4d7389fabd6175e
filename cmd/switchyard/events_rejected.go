package main

import (
	"fmt"
	"regexp"

	"github.com/spf13/pflag"
)

// Error codes of the ingest service for events that are invalid as
// sent, which the sender fixes by changing the event.
const (
	ingestMalformedEvent   = "MalformedEvent"
	ingestMissingAttribute = "MissingAttribute"
	ingestInvalidAttribute = "InvalidAttribute"
	ingestEventTooLarge    = "EventTooLarge"
	ingestInvalidBusName   = "InvalidBusName"
)

// ingestUnknownBus is the error code of a put to a bus that the config
// service does not have.
const ingestUnknownBus = "UnknownBus"

// attributeFlags are the flags of events put that set a CloudEvents
// attribute. The other attributes come only from --event.
var attributeFlags = map[string]string{
	"type":            "--type",
	"source":          "--source",
	"id":              "--id",
	"subject":         "--subject",
	"data":            "--data",
	"data_base64":     "--data",
	"datacontenttype": "--data-content-type",
}

// attributeName matches the attribute that an ingest error message is
// about: `attribute "type" is ...`, `the event has no "source"
// attribute`, or `extension "x" is ...`.
//
// NOTE: ingest fixes its error codes but not its message text, so a
// reworded message may leave the error without a flag.
var attributeName = regexp.MustCompile(`(?:attribute|extension) "([a-z0-9_]+)"|"([a-z0-9_]+)" attribute`)

// binaryModeHeader matches the note in an ingest error message that
// names the header of an attribute in binary mode, as in "(ce-source in
// binary mode)". events put sends structured mode only, so the note
// would mislead its users.
var binaryModeHeader = regexp.MustCompile(` ?\(ce-[a-z0-9]+ in binary mode\)`)

// rejectedEvent returns the error for an entry that ingest rejected. An
// event that is invalid as sent is a usage error that names the flag
// which set the attribute at fault, where one did.
func rejectedEvent(entry ingestEntry, fs *pflag.FlagSet) error {
	switch entry.ErrorCode {
	case ingestMalformedEvent, ingestMissingAttribute, ingestInvalidAttribute, ingestEventTooLarge:
	default:
		return fmt.Errorf("event rejected: %s: %s", orDash(entry.ErrorCode), entry.ErrorMessage)
	}
	message := binaryModeHeader.ReplaceAllString(entry.ErrorMessage, "")
	if flag := rejectedFlag(entry, fs); flag != "" {
		return usagef("invalid %s: %s (%s)", flag, message, entry.ErrorCode)
	}
	return usagef("event rejected: %s: %s", entry.ErrorCode, message)
}

// rejectedFlag names the flag that set what entry's error is about: the
// flag of the attribute named in the message when it was given, else
// --event when the event came from it. It returns "" when neither fits.
func rejectedFlag(entry ingestEntry, fs *pflag.FlagSet) string {
	if entry.ErrorCode == ingestEventTooLarge && fs.Changed("data") {
		return "--data"
	}
	if m := attributeName.FindStringSubmatch(entry.ErrorMessage); m != nil {
		name := m[1] + m[2]
		if flag, ok := attributeFlags[name]; ok && fs.Changed(flag[2:]) {
			return flag
		}
		// A missing attribute that no flag set is fixed by giving its
		// flag.
		if flag, ok := attributeFlags[name]; ok && entry.ErrorCode == ingestMissingAttribute {
			return flag
		}
	}
	if fs.Changed("event") {
		return "--event"
	}
	return ""
}
