// The peer connections' configuration, from the join ack: the ICE servers (with
// this participant's short-lived TURN credentials, docs/media-plane.md "TURN")
// and the transport policy: "relay" when the court's network allows only TURN.

export function rtcConfiguration(joinAck) {
  const ack = joinAck && typeof joinAck === "object" ? joinAck : {};
  return {
    iceServers: Array.isArray(ack.ice_servers) ? ack.ice_servers : [],
    iceTransportPolicy: ack.ice_transport_policy === "relay" ? "relay" : "all",
  };
}
