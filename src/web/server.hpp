// SPDX-License-Identifier: GPL-3.0-or-later
// The HTTP listener of `serve`: Boost.Beast on the daemon's io_context
// (WEB.md 4.1). Only server.cpp sees Beast.
#pragma once

#include <core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace web {

class Api;

struct ServerOptions
{
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::uint64_t max_upload = std::uint64_t(4096) << 20;
  std::function<std::filesystem::path()> spool_path; // where an upload body goes
  int workers = 4;                                   // threads that run the routes
  int max_connections = 128;
  int max_streams = 8; // zip exports at once
};

class Server
{
public:
  Server(boost::asio::io_context& io, ServerOptions options, Api& api);
  ~Server();

  // Bind and listen; accepting runs on the io_context.
  core::Result<void> start();
  // Stop accepting, close every connection (event streams too), wait for
  // the route workers. Call on the io_context's thread or after it stopped.
  void stop();

  int port() const;

  struct Impl; // server.cpp's; public so its sessions can name it

private:
  std::shared_ptr<Impl> m_impl;
};

} // namespace web
