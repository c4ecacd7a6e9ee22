/*
 * mountinfo.c - what /proc/self/mountinfo says of a mount point: the
 * mount command refuses a busy mount point, the guard (fs/guard.c) needs
 * the device number that names the connection in fusectl.
 */
#include <stdio.h>
#include <string.h>

#include "mountinfo.h"

/* Unescape a mountinfo field (\040 for space etc.). */
static void unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*w++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
				      (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

int mountinfo_find(const char *path, const char *type_prefix,
		   unsigned long *major, unsigned long *minor)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *dev = NULL, *mp = NULL, *type;
		unsigned long ma, mi;
		int i;

		/* id parent major:minor root mount-point options
		 * [optional fields...] - type source super-options */
		tok = strtok_r(line, " ", &save);
		for (i = 1; tok; i++) {
			if (i == 3)
				dev = tok;
			else if (i == 5)
				mp = tok;
			else if (i > 6 && !strcmp(tok, "-"))
				break;
			tok = strtok_r(NULL, " ", &save);
		}
		type = tok ? strtok_r(NULL, " ", &save) : NULL;
		if (!dev || !mp || !type ||
		    strncmp(type, type_prefix, strlen(type_prefix)))
			continue;
		unescape(mp);
		if (strcmp(mp, path) || sscanf(dev, "%lu:%lu", &ma, &mi) != 2)
			continue;
		if (major)
			*major = ma;
		if (minor)
			*minor = mi;
		found = 1;
	}
	fclose(f);
	return found;
}
