-- End to end in a real editor: headless Neovim (0.7 or later, the
-- distribution's) with its built-in LSP client attached to `scapi lsp`.
-- Opens $EXPORT, waits for the diagnostics, writes them to $OUT one per
-- line (`line:column CODE message`, 1-based), then quits.
-- `crates/scapi-cli/tests/neovim.rs` runs it and compares with `scapi lint`.
local scapi, file, out = os.getenv('SCAPI'), os.getenv('EXPORT'), os.getenv('OUT')
vim.cmd('edit ' .. file)
local buf = vim.api.nvim_get_current_buf()
local client = vim.lsp.start_client({
  name = 'scapi',
  cmd = { scapi, 'lsp' },
  root_dir = vim.fn.fnamemodify(file, ':h'),
})
vim.lsp.buf_attach_client(buf, client)
local ok = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
local lines = {}
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(lines, string.format('%d:%d %s %s', d.lnum + 1, d.col + 1, d.code or '?', (d.message:gsub('\n.*', ''))))
end
table.sort(lines)
local f = io.open(out, 'w')
f:write(ok and 'ok\n' or 'timeout\n')
f:write(table.concat(lines, '\n') .. '\n')
f:close()
vim.lsp.stop_client(client)
vim.cmd('qall!')
