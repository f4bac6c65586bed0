// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "result.hpp"

#include <cstdint>
#include <filesystem>
#include <string_view>

// Durable file-system primitives. Every function reports errno as a
// std::system_category error with the path as detail.
namespace core::fs {

// fsync() an existing file (data and metadata).
Result<void> sync_file(const std::filesystem::path& file);

// fsync() a directory, making renames and links inside it durable.
Result<void> sync_dir(const std::filesystem::path& dir);

// create_directories() that reports a Result.
Result<void> make_dirs(const std::filesystem::path& dir);

// Write `data` to `target` atomically: temp file beside it, fsync, rename,
// fsync the directory. Readers see the old or the new content, never a mix.
Result<void> write_atomic(const std::filesystem::path& target, std::string_view data);

// Copy `from` to `to`, which must not exist. Not synced: the caller decides.
Result<void> copy_new(const std::filesystem::path& from, const std::filesystem::path& to);

// Move `from` to `to` only if `to` does not exist yet (link + unlink, atomic on
// POSIX file systems). Returns false, leaving `from` in place, if `to` exists.
Result<bool> move_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// rename(2), replacing `to`.
Result<void> move_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// File size, or an error.
Result<std::uint64_t> file_size(const std::filesystem::path& file);

// True for the errno values that mean "no space left" (ENOSPC, EDQUOT).
bool is_disk_full(const std::error_code& code);

} // namespace core::fs
