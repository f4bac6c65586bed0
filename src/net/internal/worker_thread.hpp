// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <pthread.h>

#include <cstddef>
#include <functional>

namespace net::internal {

// A joinable thread with a stack of its own size. DCMTK parses datasets
// recursively, one level of C++ frames (about 1 KiB) per nested sequence;
// an identifier of 256 KiB can nest 16,000 levels, more than the default
// 8 MiB stack holds. The stack is reserved address space, committed only as
// it is used.
class WorkerThread
{
public:
  static constexpr std::size_t k_stack_size = 64 * 1024 * 1024;

  explicit WorkerThread(std::function<void()> body);
  ~WorkerThread(); // joins
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void join();

private:
  static void* run(void* self) noexcept;

  std::function<void()> m_body;
  pthread_t m_thread{};
  bool m_joinable = false;
};

} // namespace net::internal
