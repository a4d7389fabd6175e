package tasks

import (
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
)

// DeadLetterMsgID derives a dead letter's message id from the message
// id of its task, so a task dead-lettered twice, after a crash or a
// redelivered event, is stored once. The redrive count keeps the dead
// letter of a redriven task apart from the one before.
func DeadLetterMsgID(taskMsgID string, redriveCount int32) string {
	id := taskMsgID + "-dl"
	if redriveCount > 0 {
		id += "-" + strconv.Itoa(int(redriveCount))
	}
	return id
}

// DeadLetterMsg returns the message that stores dl on deadletter.<bus>
// of t, with msgID as its JetStream message id. The caller adds trace
// context to its header.
func DeadLetterMsg(t streams.Topology, dl *internalv1.DeadLetter, msgID string) (*nats.Msg, error) {
	data, err := proto.Marshal(dl)
	if err != nil {
		return nil, fmt.Errorf("encode dead letter: %w", err)
	}
	bus := dl.GetTask().GetBus()
	msg := nats.NewMsg(t.DeadLetterSubject(bus))
	msg.Data = data
	msg.Header.Set(streams.HeaderMsgID, msgID)
	msg.Header.Set(streams.HeaderBus, bus)
	return msg, nil
}

// Unrendered reports whether a dead letter's task carries no request.
// The rule engine stores such dead letters, with CodeRenderFailed or
// CodeTaskTooLarge, and a redrive renders their request again.
func Unrendered(dl *internalv1.DeadLetter) bool {
	return dl.GetTask().GetRequest() == nil
}
