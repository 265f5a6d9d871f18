// Board side of a protocol v1 session: see link.h.
#include "link.h"

namespace board {

using namespace proto;

void Link::init(const Identity* identity, const Hooks* hooks, uint16_t rate_hz) {
  id_ = identity;
  hooks_ = hooks;
  rate_hz_ = rate_hz;
  streaming_ = false;
  seq_ = 0;
  pending_flags_ = 0;
  pending_mask_ = 0;
  dropped_ = 0;
  status_tried_ = false;
  last_status_us_ = 0;
  frames_sent_ = 0;
  frames_dropped_total_ = 0;
  commands_ = 0;
}

bool Link::send(FrameBuilder& b) {
  uint16_t n = b.finish();
  if (n == 0) return false;  // cannot happen with the fixed frame sizes the boards build
  uint8_t wire[kMaxFrameBytes + kMaxFrameBytes / 254 + 2];
  uint8_t w = (uint8_t)encode_wire(b.data(), n, wire);
  ++seq_;  // spent even when the frame is dropped: the host sees the gap where it was
  if (hooks_->write(wire, w)) {
    ++frames_sent_;
    return true;
  }
  if (dropped_ < 0xFFFF) ++dropped_;
  ++frames_dropped_total_;
  pending_flags_ |= kTxOverflow;
  return false;
}

bool Link::send_hello(uint32_t now_us) {
  uint8_t storage[kMaxFrameBytes];
  FrameBuilder b(storage, sizeof storage);
  build_hello(b, id_->device_id, seq_, now_us, id_->role, id_->firmware, rate_hz_, id_->serial_number,
              id_->channel_map, id_->channel_count);
  return send(b);
}

bool Link::send_data16(uint32_t timestamp_us, const int16_t* values, uint8_t count) {
  uint8_t storage[kMaxFrameBytes];
  FrameBuilder b(storage, sizeof storage);
  build_data16(b, id_->device_id, seq_, timestamp_us, values, count);
  return send(b);
}

bool Link::send_data32(uint32_t timestamp_us, const int32_t* values, uint8_t count) {
  uint8_t storage[kMaxFrameBytes];
  FrameBuilder b(storage, sizeof storage);
  build_data32(b, id_->device_id, seq_, timestamp_us, values, count);
  return send(b);
}

void Link::ack(uint8_t command, uint16_t command_seq, uint8_t result, uint32_t now_us) {
  uint8_t storage[16];
  FrameBuilder b(storage, sizeof storage);
  build_ack(b, id_->device_id, seq_, now_us, command, command_seq, result);
  send(b);
}

void Link::report(uint16_t flags, uint16_t channel_mask) {
  pending_flags_ |= flags;
  pending_mask_ |= channel_mask;
}

void Link::service(uint32_t now_us) {
  if (pending_flags_ == 0) return;
  if (status_tried_ && (uint32_t)(now_us - last_status_us_) < kStatusIntervalUs) return;
  status_tried_ = true;
  last_status_us_ = now_us;  // a STATUS that did not fit is tried again 100 ms later
  uint8_t storage[16];
  FrameBuilder b(storage, sizeof storage);
  const uint16_t flags = pending_flags_, mask = pending_mask_, dropped = dropped_;
  build_status(b, id_->device_id, seq_, now_us, flags, mask, dropped);
  if (!send(b)) return;  // counted as dropped, flags kept for the next one
  pending_flags_ = 0;
  pending_mask_ = 0;
  dropped_ = 0;
}

void Link::receive(uint8_t byte, uint32_t now_us) {
  switch (rx_.push(byte)) {
    case FrameAssembler::kNothing:
    case FrameAssembler::kEmpty:
      return;
    case FrameAssembler::kComplete:
      handle(rx_.frame(), now_us);
      return;
    default:  // oversize, broken COBS, too short, wrong CRC
      report(kBadCommand, 0);
      return;
  }
}

void Link::handle(const Frame& frame, uint32_t now_us) {
  if (frame.device_id != id_->device_id && frame.device_id != kBroadcastDevice) return;  // not ours
  Command cmd;
  switch (parse_command(frame, &cmd)) {
    case kCommandMalformed:
      report(kBadCommand, 0);
      return;
    case kCommandUnknown:
      ack(frame.type, frame.seq, kAckUnsupported, now_us);
      return;
    default:
      break;
  }
  ++commands_;
  switch (cmd.type) {
    case kCmdStart:
      if (!streaming_) {
        streaming_ = true;
        hooks_->start();
      }
      ack(cmd.type, frame.seq, kAckOk, now_us);
      return;
    case kCmdStop:
      if (streaming_) {
        streaming_ = false;
        hooks_->stop();  // also discards a sample taken but not yet sent
      }
      ack(cmd.type, frame.seq, kAckOk, now_us);
      return;
    case kCmdSetRate: {
      uint8_t result = hooks_->set_rate(cmd.rate_hz);
      if (result == kAckOk) {
        rate_hz_ = cmd.rate_hz;
        if (streaming_) {  // the stream restarts at the new rate
          hooks_->stop();
          hooks_->start();
        }
      }
      ack(cmd.type, frame.seq, result, now_us);
      return;
    }
    case kCmdIdentify:
      send_hello(now_us);
      ack(cmd.type, frame.seq, kAckOk, now_us);
      return;
    default:
      return;
  }
}

}  // namespace board
