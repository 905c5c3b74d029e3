-- End to end in a real editor: headless Neovim (the distribution's, 0.7 or
-- later) started with the README's set-up as its init.lua. Opens each file
-- of $EXPORTS (separated by newlines), which the set-up attaches to
-- `scapi lsp` by filetype; waits for each one's diagnostics and writes
-- them to $OUT: per file a line `== NAME FILETYPE ok|timeout`, then one
-- line per diagnostic (`line:column CODE message`, 1-based), then quits.
-- `crates/scapi-cli/tests/neovim.rs` runs it and compares with `scapi lint`.
local out = io.open(os.getenv('OUT'), 'w')
for file in string.gmatch(os.getenv('EXPORTS'), '[^\n]+') do
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  -- A bound, not a synchronisation: the wait ends as soon as they arrive.
  local ok = vim.wait(60000, function() return #vim.diagnostic.get(buf) > 0 end, 20)
  out:write(string.format('== %s %s %s\n', vim.fn.fnamemodify(file, ':t'), vim.bo[buf].filetype, ok and 'ok' or 'timeout'))
  local lines = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(lines, string.format('%d:%d %s %s', d.lnum + 1, d.col + 1, d.code or '?', (d.message:gsub('\n.*', ''))))
  end
  table.sort(lines)
  for _, l in ipairs(lines) do out:write(l .. '\n') end
end
out:close()
for _, client in ipairs(vim.lsp.get_active_clients()) do client.stop() end
vim.cmd('qall!')
