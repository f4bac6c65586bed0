// SPDX-License-Identifier: GPL-3.0-or-later
#include "server.hpp"

#include "internal/association.hpp"
#include "internal/listener.hpp"
#include "internal/negotiation.hpp"
#include "internal/worker_thread.hpp"

#include <core/log.hpp>
#include <core/strings.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/assoc.h>
#include <sys/socket.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace net {

namespace {

// PS3.7 A.2.1: the DICOM Application Context Name.
constexpr const char* k_dicom_application_context = "1.2.840.10008.3.1.1.1";

void
reject(T_ASC_Association* assoc, T_ASC_RejectParametersResult result,
       T_ASC_RejectParametersSource source, T_ASC_RejectParametersReason reason)
{
  T_ASC_RejectParameters rej{result, source, reason};
  ASC_rejectAssociation(assoc, &rej);
  ASC_dropAssociation(assoc);
  ASC_destroyAssociation(&assoc);
}

void
finish(T_ASC_Association* assoc)
{
  ASC_dropSCPAssociation(assoc);
  ASC_destroyAssociation(&assoc);
}

} // namespace

class Server::Impl
{
public:
  Impl(const ServerOptions& options, store::IngestSink& sink, store::Query& query)
      : m_options(options), m_context{m_options, sink, query, m_stopping, m_abort_at}
  {
  }

  ~Impl()
  {
    stop();
    wait();
  }

  core::Result<void> start()
  {
    if (auto r = m_listener.open(m_options.bind, m_options.port, m_options.acse_timeout,
                                 m_options.first_pdu_timeout);
        !r) {
      return r;
    }
    for (int i = 0; i < m_options.max_associations; ++i) {
      m_workers.push_back(std::make_unique<internal::WorkerThread>([this] { work(); }));
    }
    m_listen_thread = std::thread([this] { listen(); });
    m_reaper = std::thread([this] { reap(); });
    CF_LOG(info, "net",
           "listening on " << m_options.bind << ":" << m_options.port << " as "
                           << m_options.ae_title << " (max " << m_options.max_associations
                           << " associations)");
    CF_LOG(info, "net",
           "access: " << describe(m_options.access)
                      << (m_options.allowed_peers.empty() ? ""
                                                          : "; only allowed_peers may associate"));
    return {};
  }

  void stop()
  {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_stopping) {
        return;
      }
      // The deadline first: whoever sees m_stopping reads a valid abort_at.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(m_options.shutdown_grace);
      m_abort_at = deadline.time_since_epoch().count();
      m_stopping = true;
    }
    m_cv.notify_all();
    m_reaper_cv.notify_all();
  }

  void wait()
  {
    if (m_listen_thread.joinable()) {
      m_listen_thread.join();
    }
    for (auto& w : m_workers) {
      w->join();
    }
    m_workers.clear();
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_workers_finished = true;
      m_reaper_cv.notify_all();
    }
    if (m_reaper.joinable()) {
      m_reaper.join();
    }
  }

private:
  void listen()
  {
    while (!m_stopping) {
      int socket = -1;
      T_ASC_Association* assoc = m_listener.next(m_options.max_pdu, 500, socket);
      if (assoc != nullptr) {
        admit(assoc, socket);
      }
    }
    m_listener.close();
    std::lock_guard<std::mutex> lock(m_mutex);
    m_listener_finished = true;
    m_cv.notify_all();
  }

  // Decide on one association request (PS3.8 7.1.1): refuse or negotiate,
  // acknowledge and queue it for a worker.
  void admit(T_ASC_Association* assoc, int socket)
  {
    // Anything that escapes here would end the listener thread.
    try {
      admit_or_reject(assoc, socket);
    } catch (const std::exception& e) {
      CF_LOG(error, "net", "admission failed: " << e.what());
      ASC_dropAssociation(assoc);
      ASC_destroyAssociation(&assoc);
    }
  }

  void admit_or_reject(T_ASC_Association* assoc, int socket)
  {
    const auto& dul = assoc->params->DULparams;
    const std::string calling(core::trim(dul.callingAPTitle));
    const std::string called(core::trim(dul.calledAPTitle));
    const std::string host(dul.callingPresentationAddress);
    const auto who = calling + "@" + host;

    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_busy >= m_options.max_associations) {
        CF_LOG(warn, "net",
               who << ": rejected, all " << m_options.max_associations
                   << " association slots busy");
        reject(assoc, ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
               ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
        return;
      }
    }
    if (std::string(dul.applicationContextName) != k_dicom_application_context) {
      CF_LOG(warn, "net", who << ": rejected, application context " << dul.applicationContextName);
      reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
             ASC_REASON_SU_APPCONTEXTNAMENOTSUPPORTED);
      return;
    }
    if (m_options.check_called_ae && called != m_options.ae_title) {
      CF_LOG(warn, "net",
             who << ": rejected, called AE '" << called << "' is not " << m_options.ae_title);
      reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
             ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
      return;
    }
    if (!peer_allowed(calling, host)) {
      CF_LOG(warn, "net", who << ": rejected, not in allowed_peers");
      reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER,
             ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
      return;
    }
    auto grant = net::grant(m_options.access, calling, host);
    const int accepted = internal::negotiate(assoc);
    const auto cond = ASC_acknowledgeAssociation(assoc);
    if (cond.bad()) {
      CF_LOG(warn, "net", who << ": cannot acknowledge association: " << cond.text());
      ASC_dropAssociation(assoc);
      ASC_destroyAssociation(&assoc);
      return;
    }
    CF_LOG(info, "net",
           who << ": association accepted (called " << called << ", " << accepted << " of "
               << ASC_countPresentationContexts(assoc->params) << " contexts; " << grant.basis
               << ": " << service_list(grant.services) << ")");
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_busy;
    m_queue.push_back({assoc, socket, std::move(grant)});
    m_cv.notify_one();
  }

  bool peer_allowed(const std::string& ae, const std::string& host) const
  {
    if (m_options.allowed_peers.empty()) {
      return true;
    }
    for (const auto& p : m_options.allowed_peers) {
      if ((p.ae_title.empty() || p.ae_title == ae) && (p.host.empty() || p.host == host)) {
        return true;
      }
    }
    return false;
  }

  void work()
  {
    for (;;) {
      Queued job;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_queue.empty() || m_listener_finished; });
        if (m_queue.empty()) {
          return;
        }
        job = std::move(m_queue.front());
        m_queue.pop_front();
        m_running.insert(job.socket);
      }
      internal::serve_association(job.assoc, job.socket, job.grant, m_context);
      {
        // Off the list before the socket is closed, so reap() never shuts
        // down a descriptor number that was reused.
        std::lock_guard<std::mutex> lock(m_mutex);
        m_running.erase(job.socket);
      }
      finish(job.assoc);
      std::lock_guard<std::mutex> lock(m_mutex);
      --m_busy;
    }
  }

  // Enforces shutdown_grace inside long operations (a C-MOVE of thousands
  // of instances, a C-STORE being received): when the grace period is over,
  // the sockets of the associations still running are shut down, so every
  // DCMTK read or write on them fails at once and the workers return.
  void reap()
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_reaper_cv.wait(lock, [this] { return m_stopping.load() || m_workers_finished; });
    while (!m_workers_finished) {
      const auto abort_at = std::chrono::steady_clock::time_point(
          std::chrono::steady_clock::duration(m_abort_at.load()));
      if (std::chrono::steady_clock::now() >= abort_at) {
        for (const int fd : m_running) {
          ::shutdown(fd, SHUT_RDWR);
        }
        if (!m_running.empty()) {
          CF_LOG(warn, "net",
                 "shutdown grace over: " << m_running.size() << " association(s) cut off");
        }
        m_reaper_cv.wait_for(lock, std::chrono::milliseconds(200));
      } else {
        m_reaper_cv.wait_until(lock, abort_at);
      }
    }
  }

  ServerOptions m_options;
  std::atomic<bool> m_stopping{false};
  std::atomic<std::chrono::steady_clock::rep> m_abort_at{0};
  internal::ServiceContext m_context;
  internal::Listener m_listener;
  std::thread m_listen_thread;
  std::thread m_reaper;
  std::vector<std::unique_ptr<internal::WorkerThread>> m_workers;
  std::mutex m_mutex;
  std::condition_variable m_cv;        // workers: the queue
  std::condition_variable m_reaper_cv; // reap(): stopping, workers finished
  struct Queued
  {
    T_ASC_Association* assoc = nullptr;
    int socket = -1;
    Grant grant;
  };
  std::set<int> m_running; // sockets of associations being served
  bool m_workers_finished = false;
  std::deque<Queued> m_queue;
  int m_busy = 0;                   // queued + running associations
  bool m_listener_finished = false; // no more associations will be queued
};

Server::Server(const ServerOptions& options, store::IngestSink& sink, store::Query& query)
    : m_impl(std::make_unique<Impl>(options, sink, query))
{
}

Server::~Server() = default;

core::Result<void>
Server::start()
{
  return m_impl->start();
}

void
Server::stop()
{
  m_impl->stop();
}

void
Server::wait()
{
  m_impl->wait();
}

} // namespace net
