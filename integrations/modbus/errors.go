package modbus

import (
	"fmt"

	"github.com/firebreak-ir/firebreak/activities"
)

// Exception codes a Modbus server answers with (Modbus Application
// Protocol v1.1b3, section 7).
const (
	// ExIllegalFunction: the device does not serve the function code.
	ExIllegalFunction = 0x01
	// ExIllegalDataAddress: the device has no register at that offset.
	ExIllegalDataAddress = 0x02
	// ExIllegalDataValue: the device refused a value of the request.
	ExIllegalDataValue = 0x03
	// ExServerDeviceFailure: the device failed while answering.
	ExServerDeviceFailure = 0x04
	// ExAcknowledge: the device took the request and has no answer yet.
	ExAcknowledge = 0x05
	// ExServerDeviceBusy: the device is busy with another request.
	ExServerDeviceBusy = 0x06
	// ExMemoryParityError: the device found its memory inconsistent.
	ExMemoryParityError = 0x08
	// ExGatewayPathUnavail: a gateway has no path to the unit.
	ExGatewayPathUnavail = 0x0A
	// ExGatewayTargetNoReply: a gateway got no answer from the unit.
	ExGatewayTargetNoReply = 0x0B
)

// exceptions names each code and says what an operator can do about it.
var exceptions = map[byte]struct{ name, do string }{
	ExIllegalFunction: {"illegal function",
		"the device does not serve this read (function code); check that the register is a holding register on this device and that the address and unit id name the right device"},
	ExIllegalDataAddress: {"illegal data address",
		"the device has no such register; check the register number against the device's register map (40001 is protocol offset 0)"},
	ExIllegalDataValue: {"illegal data value",
		"the device refused the request's values; check the register number and the device's register map"},
	ExServerDeviceFailure: {"server device failure",
		"the device failed while answering; it is retried, and if it persists check the device"},
	ExAcknowledge: {"acknowledge",
		"the device accepted the request but has no answer yet; it is retried"},
	ExServerDeviceBusy: {"server device busy",
		"the device is busy with another request; it is retried"},
	ExMemoryParityError: {"memory parity error",
		"the device found its memory inconsistent; it is retried, and if it persists check the device"},
	ExGatewayPathUnavail: {"gateway path unavailable",
		"the Modbus gateway has no path to the unit; it is retried, and if it persists check the gateway's configuration and the unit id"},
	ExGatewayTargetNoReply: {"gateway target device failed to respond",
		"the gateway reached no answer from the unit; it is retried, and if it persists check that the device is powered and on line and the unit id is right"},
}

// ExceptionError is a Modbus exception response: the server understood the
// request and refused it. It wraps activities.ErrPermanent for the codes a
// retry cannot fix: illegal function, illegal data address and illegal
// data value.
type ExceptionError struct {
	// Function is the function code of the request (3 or 4).
	Function byte
	// Code is the exception code the server answered.
	Code byte
}

// Error names the exception and says what to do.
func (e *ExceptionError) Error() string {
	if x, ok := exceptions[e.Code]; ok {
		return fmt.Sprintf("the device answered exception %d (%s) to function code %d: %s", e.Code, x.name, e.Function, x.do)
	}
	return fmt.Sprintf("the device answered exception %d, a code Modbus does not define, to function code %d; it is retried, and if it persists check the device", e.Code, e.Function)
}

// Permanent reports whether a retry cannot fix the exception.
func (e *ExceptionError) Permanent() bool {
	return e.Code == ExIllegalFunction || e.Code == ExIllegalDataAddress || e.Code == ExIllegalDataValue
}

// Unwrap makes a permanent exception match activities.ErrPermanent.
func (e *ExceptionError) Unwrap() error {
	if e.Permanent() {
		return activities.ErrPermanent
	}
	return nil
}
