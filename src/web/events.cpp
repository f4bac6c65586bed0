// SPDX-License-Identifier: GPL-3.0-or-later
// The event hub behind GET /api/events.
#include "events.hpp"

namespace web {

std::string
format_event(const Event& event)
{
  return "id: " + std::to_string(event.id) + "\nevent: " + event.name + "\ndata: " + event.data
         + "\n\n";
}

EventHub::EventHub(std::size_t replay) : m_replay(replay) {}

void
EventHub::publish(const std::string& name, std::string data)
{
  // SSE data ends at a line break: JSON from nlohmann's dump() has none, but
  // make sure no caller can split a message.
  for (auto& c : data) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  std::vector<Subscriber> to_call;
  Event event;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    event.id = m_next_id++;
    event.name = name;
    event.data = std::move(data);
    m_ring.push_back(event);
    while (m_ring.size() > m_replay) {
      m_ring.pop_front();
    }
    to_call.reserve(m_subscribers.size());
    for (const auto& [token, fn] : m_subscribers) {
      to_call.push_back(fn);
    }
  }
  for (const auto& fn : to_call) {
    fn(event);
  }
}

std::uint64_t
EventHub::subscribe(Subscriber fn, std::uint64_t last_id, std::vector<Event>& replay)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  replay.clear();
  if (last_id != 0) {
    for (const auto& e : m_ring) {
      if (e.id > last_id) {
        replay.push_back(e);
      }
    }
  }
  const auto token = m_next_token++;
  m_subscribers.emplace(token, std::move(fn));
  return token;
}

void
EventHub::unsubscribe(std::uint64_t token)
{
  std::lock_guard<std::mutex> lock(m_mutex);
  m_subscribers.erase(token);
}

std::size_t
EventHub::subscribers() const
{
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_subscribers.size();
}

} // namespace web
