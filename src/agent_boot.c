/* SPDX-License-Identifier: Apache-2.0 */
/* The bootstrap line that starts the agent inside the target. */
#include "agent_boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * Runs in a fresh globals dict (exec), so its names go nowhere.  The
 * marker is set with dict.setdefault, one atomic step, so two threads
 * running it at once start one agent.  Formats: the directory, the
 * method, the deadline, the directory twice more.  The file "started"
 * tells peeka the bootstrap ran (the agent may still need a while to
 * import its modules when the program keeps the GIL busy).  Written
 * with \n escapes because it travels inside one Python string literal.
 */
static const char body[] =
	"try:\\n"
	" import sys,time\\n"
	" mark={'dir':'%s','state':'starting','method':'%s'}\\n"
	" if time.time()<%.3f and sys.__dict__.setdefault('_peeka_agent',mark) is mark:\\n"
	"  import _thread\\n"
	"  start=_thread.start_new_thread\\n"
	"  try:\\n"
	"   m=sys.modules.get('gevent.monkey')\\n"
	"   if m is not None and m.is_module_patched('thread'):\\n"
	"    start=m.get_original('_thread','start_new_thread')\\n"
	"   m=sys.modules.get('eventlet.patcher')\\n"
	"   if m is not None and m.is_monkey_patched('thread'):\\n"
	"    start=m.original('_thread').start_new_thread\\n"
	"  except BaseException:\\n"
	"   pass\\n"
	"  def main(d='%s'):\\n"
	"   try:\\n"
	"    import types\\n"
	"    p=d+'/peeka_agent.py'\\n"
	"    m=types.ModuleType('_peeka_agent')\\n"
	"    m.__file__=p\\n"
	"    with open(p,'rb') as f:\\n"
	"     c=compile(f.read(),p,'exec')\\n"
	"    exec(c,m.__dict__)\\n"
	"    m.run(d)\\n"
	"   except BaseException:\\n"
	"    try:\\n"
	"     import traceback\\n"
	"     with open(d+'/agent.error','w') as f:\\n"
	"      traceback.print_exc(file=f)\\n"
	"    except BaseException:\\n"
	"     pass\\n"
	"    try:\\n"
	"     del sys._peeka_agent\\n"
	"    except BaseException:\\n"
	"     pass\\n"
	"  start(main,())\\n"
	"  try:\\n"
	"   open('%s/started','w').close()\\n"
	"  except BaseException:\\n"
	"   pass\\n"
	"except BaseException:\\n"
	" pass\\n";

static int safe(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("/._-", *s)))
			return 0;
	return 1;
}

int agent_boot__source(char *buf, size_t len, const char *dir,
		       const char *method, double deadline)
{
	char inner[4096];
	int n;

	if (!safe(dir) || !safe(method))
		return -EINVAL;
	n = snprintf(inner, sizeof(inner), body, dir, method, deadline, dir, dir);
	if (n < 0 || (size_t)n >= sizeof(inner))
		return -ENAMETOOLONG;
	n = snprintf(buf, len,
		     "__import__('builtins').exec(\"%s\",{'__builtins__':__import__('builtins')})\n",
		     inner);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}
