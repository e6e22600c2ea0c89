/* Unit tests for the timer heap: ordering, re-arm, cancel, and a randomised
 * comparison against a brute-force model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timer.h"

static void nop_cb(struct timer *t)
{
	(void)t;
}

static void test_empty(void **state)
{
	struct timer_heap h;

	(void)state;
	timer_heap_init(&h);
	assert_null(timer_heap_peek(&h));
	assert_null(timer_heap_pop_due(&h, UINT64_MAX));
	timer_heap_fini(&h);
}

static void test_order_and_due(void **state)
{
	struct timer_heap h;
	struct timer t[5];
	uint64_t when[5] = {50, 10, 40, 20, 30};

	(void)state;
	timer_heap_init(&h);
	for (int i = 0; i < 5; i++) {
		t[i].idx = 0;
		t[i].cb = nop_cb;
		assert_int_equal(timer_heap_set(&h, &t[i], when[i]), 0);
		assert_true(timer_armed(&t[i]));
	}
	assert_null(timer_heap_pop_due(&h, 9));
	assert_ptr_equal(timer_heap_pop_due(&h, 10), &t[1]);
	assert_false(timer_armed(&t[1]));
	assert_null(timer_heap_pop_due(&h, 19));
	assert_ptr_equal(timer_heap_pop_due(&h, 100), &t[3]);
	assert_ptr_equal(timer_heap_pop_due(&h, 100), &t[4]);
	assert_ptr_equal(timer_heap_pop_due(&h, 100), &t[2]);
	assert_ptr_equal(timer_heap_pop_due(&h, 100), &t[0]);
	assert_null(timer_heap_pop_due(&h, 100));
	timer_heap_fini(&h);
}

static void test_rearm_and_cancel(void **state)
{
	struct timer_heap h;
	struct timer a = {.cb = nop_cb}, b = {.cb = nop_cb}, c = {.cb = nop_cb};

	(void)state;
	timer_heap_init(&h);
	timer_heap_set(&h, &a, 100);
	timer_heap_set(&h, &b, 200);
	timer_heap_set(&h, &c, 300);
	/* Re-arm earlier and later: positions move, nothing is duplicated. */
	timer_heap_set(&h, &c, 50);
	assert_ptr_equal(timer_heap_peek(&h), &c);
	timer_heap_set(&h, &c, 400);
	assert_ptr_equal(timer_heap_peek(&h), &a);
	assert_int_equal(h.n, 3);
	/* Cancel the head, a middle one, and one not armed. */
	timer_heap_del(&h, &a);
	assert_false(timer_armed(&a));
	timer_heap_del(&h, &a);
	assert_ptr_equal(timer_heap_peek(&h), &b);
	timer_heap_del(&h, &c);
	assert_int_equal(h.n, 1);
	assert_ptr_equal(timer_heap_pop_due(&h, 1000), &b);
	assert_int_equal(h.n, 0);
	timer_heap_fini(&h);
}

/* Random operations against a model: the heap always yields the minimum
 * and the armed flags agree with the model. */
static void test_random_model(void **state)
{
	enum { N = 512, OPS = 200000 };
	static struct timer t[N];
	static uint64_t model[N]; /* 0: not armed */
	struct timer_heap h;
	unsigned seed = 12345;

	(void)state;
	timer_heap_init(&h);
	for (int i = 0; i < N; i++) {
		t[i].idx = 0;
		t[i].cb = nop_cb;
		model[i] = 0;
	}
	for (int op = 0; op < OPS; op++) {
		int i = (int)(rand_r(&seed) % N);
		int kind = (int)(rand_r(&seed) % 3);

		if (kind < 2) {
			uint64_t when = 1 + (uint64_t)(rand_r(&seed) % 100000);

			assert_int_equal(timer_heap_set(&h, &t[i], when), 0);
			model[i] = when;
		} else {
			timer_heap_del(&h, &t[i]);
			model[i] = 0;
		}
		if (op % 1000 == 0) {
			uint64_t min = UINT64_MAX;
			unsigned armed = 0;

			for (int k = 0; k < N; k++) {
				assert_int_equal(timer_armed(&t[k]), model[k] != 0);
				if (model[k] != 0) {
					armed++;
					if (model[k] < min)
						min = model[k];
				}
			}
			assert_int_equal(h.n, armed);
			if (armed)
				assert_int_equal(timer_heap_peek(&h)->when, min);
		}
	}
	/* Drain in order. */
	for (uint64_t last = 0;;) {
		struct timer *x = timer_heap_pop_due(&h, UINT64_MAX);

		if (x == NULL)
			break;
		assert_true(x->when >= last);
		last = x->when;
	}
	timer_heap_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order_and_due),
		cmocka_unit_test(test_rearm_and_cancel),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
