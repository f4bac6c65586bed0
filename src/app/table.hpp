// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace app {

// A plain text table for the terminal. Column widths count East Asian wide
// characters (Chinese names) as two cells.
class Table
{
public:
  explicit Table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  void print(std::ostream& out) const;

private:
  std::vector<std::vector<std::string>> m_rows;
};

// Terminal cells `utf8` takes.
std::size_t display_width(const std::string& utf8);

} // namespace app
