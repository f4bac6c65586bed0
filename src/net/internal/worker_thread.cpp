// SPDX-License-Identifier: GPL-3.0-or-later
#include "worker_thread.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace net::internal {

WorkerThread::WorkerThread(std::function<void()> body) : m_body(std::move(body))
{
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, k_stack_size);
  const int err = pthread_create(&m_thread, &attr, &WorkerThread::run, this);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    throw std::runtime_error(std::string("cannot start a worker thread: ") + std::strerror(err));
  }
  m_joinable = true;
}

WorkerThread::~WorkerThread() { join(); }

void
WorkerThread::join()
{
  if (m_joinable) {
    pthread_join(m_thread, nullptr);
    m_joinable = false;
  }
}

void*
WorkerThread::run(void* self) noexcept
{
  static_cast<WorkerThread*>(self)->m_body();
  return nullptr;
}

} // namespace net::internal
