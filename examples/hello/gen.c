#include <stdio.h>
int main(void)
{
	printf("#define GREETING \"Hello from sb2\"\n");
	return 0;
}
