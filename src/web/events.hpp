// SPDX-License-Identifier: GPL-3.0-or-later
// The one server-sent-events stream of the HTTP side (WEB.md 4.2): fetch
// jobs, forwarding jobs and study changes, numbered, with a short replay
// ring for reconnects (Last-Event-ID).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace web {

struct Event
{
  std::uint64_t id = 0;
  std::string name; // "fetch", "queue", "study"
  std::string data; // one JSON object
};

// "id: ..\nevent: ..\ndata: ..\n\n" (data has no line breaks: compact JSON).
std::string format_event(const Event& event);

// Thread-safe. Subscribers are called from the publishing thread, with the
// hub's lock released; they must only queue the event (post to their
// connection).
class EventHub
{
public:
  using Subscriber = std::function<void(const Event&)>;

  explicit EventHub(std::size_t replay = 256);

  void publish(const std::string& name, std::string data);

  // Register `fn` and return the events after `last_id` still in the ring.
  std::uint64_t subscribe(Subscriber fn, std::uint64_t last_id, std::vector<Event>& replay);
  void unsubscribe(std::uint64_t token);

  std::size_t subscribers() const;

private:
  mutable std::mutex m_mutex;
  std::size_t m_replay;
  std::uint64_t m_next_id = 1;
  std::uint64_t m_next_token = 1;
  std::deque<Event> m_ring;
  std::map<std::uint64_t, Subscriber> m_subscribers;
};

} // namespace web
