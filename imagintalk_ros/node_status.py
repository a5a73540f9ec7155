"""What the speech node reports: ~/status (SpeechStatus) and /diagnostics, every status_period_s.

A mixin of SpeakNode (speak_node.py): it reads the node's counters, the frame thread, the speech
worker and the stream, and publishes both messages from the status timer.
"""

from __future__ import annotations

import time

from imagintalk.stream import LipStream

from .diagnostics import diagnostic_array, diagnostic_values, level_and_message
from .speech_msgs import speech_status


class StatusReporting:
    """SpeakNode's ~/status and /diagnostics (uses the node's attributes set in SpeakNode.__init__)."""

    def status_fields(self) -> tuple[dict, dict[str, int]]:
        """The SpeechStatus fields now (and rejected counts by kind)."""
        period = self.params.status_period_s if self.params else 1.0
        now = time.monotonic()
        with self._lock:
            while self._arrivals and now - self._arrivals[0] > period:
                self._arrivals.popleft()
            fps = len(self._arrivals) / period
            rejected = dict(self._rejected)
            fields = {
                "frames_received": self.frames_received,
                "utterances_spoken": self.spoken,
                "utterances_failed": self.failed,
                "last_latency": float(self.last_latency),
                "last_duration": float(self.last_duration),
                "last_error": self.last_error,
            }
        frames, worker, stream = self._frames, self._worker, self._stream
        counters = stream.counters if stream is not None else {}
        fields.update(
            state=self._state(stream),
            face_found=bool(self._face_found),
            camera_active=bool(self._camera_active),
            fps_in=float(fps),
            frames_processed=frames.processed if frames else 0,
            frames_dropped=frames.dropped if frames else 0,
            frames_lost_upstream=self._upstream.lost,
            utterances_dropped=worker.dropped if worker else 0,
            utterances_too_short=counters.get("discarded_short", 0) + counters.get("utterances_unusable", 0),
            pending=min(worker.pending if worker else 0, 255),
            speaking=bool((worker is not None and worker.busy) or self._closing),
            face_selection=self._choice.mode
            if self._choice is not None
            else (self.params.face_selection if self.params else ""),
            faces_in_view=min(int(self._faces_in_view), 255),
            voiced_face=list(self._voiced_box),
        )
        return fields, rejected

    def _state(self, stream: LipStream | None) -> str:
        if self.label != "active" or stream is None:
            return self.label
        if self._last_arrival is None:
            return "waiting"
        if not self._camera_active:
            return "stopped"
        return stream.state

    def _publish_status(self) -> None:
        fields, rejected = self.status_fields()
        now = self.get_clock().now().to_msg()
        self._status_pub.publish(speech_status(self.msgs, now, fields, rejected))
        self._publish_diagnostics(now, fields, rejected)

    def _publish_diagnostics(self, now, fields: dict, rejected: dict[str, int]) -> None:
        """/diagnostics: the same figures, with a level (ROS convention) and this node's name."""
        p = self.params
        drops = fields["frames_dropped"] + fields["frames_lost_upstream"]
        new_drops, self._drops_seen = drops - self._drops_seen, drops
        period_frames = fields["fps_in"] * (p.status_period_s if p else 1.0) + new_drops
        share = new_drops / period_frames if period_frames > 0 else 0.0
        timeout = p.camera_timeout_s if p else 1.0
        level, message = level_and_message(fields, self._activate_failed, timeout, share)
        values = diagnostic_values(fields, rejected, p, self._pipeline)
        name = f"{self.get_fully_qualified_name().lstrip('/')}: speech"
        self._diagnostics_pub.publish(diagnostic_array(now, name, values["device"], level, message, values))
